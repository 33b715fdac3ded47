"""Staff passwords: no words an attacker who knows the practice would try first."""

import re

from django.core.exceptions import ValidationError


def _letters_and_digits(text):
    return re.sub(r"[^0-9a-z]", "", text.lower())


class ContextWordsValidator:
    """Refuses a password that contains the practice's name (or a word of it), what the
    practice does, or the user's own username, ignoring case, spaces and punctuation."""

    words = ["clinic", "pain"]
    # Shorter pieces ("of", "st", "and") would refuse half the dictionary.
    min_word_length = 4

    def validate(self, password, user=None):
        compact = _letters_and_digits(password)
        found = [word for word in self.context_words(user) if word in compact]
        if found:
            raise ValidationError(
                "This password contains “%(word)s”, which is easy to guess for anyone who "
                "knows the practice. Choose a passphrase of unrelated words.",
                code="password_has_context_word",
                params={"word": found[0]},
            )

    def context_words(self, user):
        from clinic.models import Practice

        texts = [*self.words]
        practice_name = Practice.objects.values_list("name", flat=True).first()
        if practice_name:
            texts += [practice_name, *practice_name.split()]
        if user is not None and user.get_username():
            texts.append(user.get_username())
        words = {_letters_and_digits(text) for text in texts}
        return sorted(word for word in words if len(word) >= self.min_word_length)

    def get_help_text(self):
        return "Your password can’t contain the practice’s name, “clinic”, “pain” or your username."
