"""Build the POST an admin change form would send, from the form as the admin rendered it."""


def _value(bound_field):
    value = bound_field.value()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    return value


def _add(data, bound_field, key):
    value = _value(bound_field)
    widget = bound_field.field.widget
    if hasattr(widget, "decompress") and value != "":
        # A split widget (date and time) posts one value per part.
        for number, part in enumerate(widget.decompress(value)):
            data[f"{key}_{number}"] = part
    elif value != "":
        data[key] = value


def admin_form_data(response):
    """Every field of the main form and of each inline formset, with its current value."""
    data = {}
    form = response.context["adminform"].form
    for name in form.fields:
        _add(data, form[name], name)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[f"{formset.prefix}-{name}"] = _value(management[name])
        for sub_form in formset.forms:
            for name in sub_form.fields:
                _add(data, sub_form[name], sub_form.add_prefix(name))
    return data
