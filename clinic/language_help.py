"""The "Language help" taglines: free interpreters and translated documents, in the languages
most spoken by the practice's patients after English.

Written in the style of the US HHS Section 1557 sample taglines ("ATTENTION: If you speak
[language], language assistance services, free of charge, are available to you. Call
[phone]."), kept close to their published wording, which patients of other clinics will
have seen. The page in English or Spanish explains the same in full (its text is in the
catalogues); these lines are for everyone else, so they are not translated: each is already
in its own language.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Tagline:
    language: str  # a BCP 47 tag, for the lang attribute
    name: str  # the language's own name
    text: str  # "{phone}" marks where the practice's phone number goes
    direction: str = "ltr"

    @property
    def before_phone(self):
        return self.text.partition("{phone}")[0]

    @property
    def after_phone(self):
        return self.text.partition("{phone}")[2]


TAGLINES = (
    Tagline(
        "en",
        "English",
        "ATTENTION: If you speak English, language assistance services, free of charge, are "
        "available to you. Call {phone}.",
    ),
    Tagline(
        "es",
        "Español",
        "ATENCIÓN: si habla español, tiene a su disposición servicios gratuitos de asistencia "
        "lingüística. Llame al {phone}.",
    ),
    Tagline(
        "pl",
        "Polski",
        "UWAGA: Jeżeli mówisz po polsku, możesz skorzystać z bezpłatnej pomocy językowej. "
        "Zadzwoń pod numer {phone}.",
    ),
    Tagline(
        "zh-Hans",
        "简体中文",
        "注意：如果您使用简体中文，您可以免费获得语言援助服务。请致电 {phone}。",
    ),
    Tagline(
        "zh-Hant",
        "繁體中文",
        "注意：如果您使用繁體中文，您可以免費獲得語言援助服務。請致電 {phone}。",
    ),
    Tagline(
        "ar",
        "العربية",
        "ملحوظة: إذا كنت تتحدث اللغة العربية، فإن خدمات المساعدة اللغوية تتوافر لك بالمجان. "
        "اتصل برقم {phone}.",
        direction="rtl",
    ),
    Tagline(
        "tl",
        "Tagalog",
        "PAUNAWA: Kung nagsasalita ka ng Tagalog, maaari kang gumamit ng mga serbisyo ng tulong "
        "sa wika nang walang bayad. Tumawag sa {phone}.",
    ),
    Tagline(
        "ko",
        "한국어",
        "주의: 한국어를 사용하시는 경우, 언어 지원 서비스를 무료로 이용하실 수 있습니다. "
        "{phone} 번으로 전화해 주십시오.",
    ),
    Tagline(
        "gu",
        "ગુજરાતી",
        "સુચના: જો તમે ગુજરાતી બોલતા હો, તો નિ:શુલ્ક ભાષા સહાય સેવાઓ તમારા માટે ઉપલબ્ધ છે. ફોન કરો {phone}.",
    ),
    Tagline(
        "hi",
        "हिन्दी",
        "ध्यान दें: यदि आप हिंदी बोलते हैं तो आपके लिए मुफ्त में भाषा सहायता सेवाएं उपलब्ध हैं। {phone} पर कॉल करें।",
    ),
    Tagline(
        "ur",
        "اردو",
        "خبردار: اگر آپ اردو بولتے ہیں، تو آپ کو زبان کی مدد کی خدمات مفت میں دستیاب ہیں۔ "
        "کال کریں {phone}۔",
        direction="rtl",
    ),
    Tagline(
        "ru",
        "Русский",
        "ВНИМАНИЕ: Если вы говорите на русском языке, то вам доступны бесплатные услуги "
        "перевода. Звоните {phone}.",
    ),
    Tagline(
        "vi",
        "Tiếng Việt",
        "CHÚ Ý: Nếu bạn nói Tiếng Việt, có các dịch vụ hỗ trợ ngôn ngữ miễn phí dành cho bạn. "
        "Gọi số {phone}.",
    ),
)


def taglines_for(page_language):
    """Every tagline but the page's own language, which the page itself already says."""
    return [tagline for tagline in TAGLINES if tagline.language != page_language]
