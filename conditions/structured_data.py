"""The JSON-LD of condition and treatment pages: schema.org MedicalWebPage, with FAQPage."""


def review_claims(page):
    """Review claims come from the approval record only."""
    review = page.approval
    if review is None:
        return {}
    reviewer = {"@type": "Person", "name": review.reviewer_name}
    reviewer["honorificSuffix"] = review.credentials
    if review.specialty:
        reviewer["knowsAbout"] = review.specialty
    return {"lastReviewed": review.reviewed_on.isoformat(), "reviewedBy": reviewer}


def faq_page(page):
    """An FAQPage of the page's shown FAQs, in a list: empty when it shows none."""
    faqs = page.shown_faqs
    if not faqs:
        return []
    return [
        {
            "@context": "https://schema.org",
            "@type": "FAQPage",
            "mainEntity": [
                {
                    "@type": "Question",
                    "name": faq.question,
                    "acceptedAnswer": {"@type": "Answer", "text": faq.answer_html},
                }
                for faq in faqs
            ],
        }
    ]


def medical_web_page(request, page, about):
    """A MedicalWebPage about a condition or treatment, with its review and its FAQs."""
    url = request.build_absolute_uri(page.get_absolute_url())
    about = {**about, "name": page.name, "url": url, "description": page.summary}
    # Search terms (brands, related terms) are not other names of this thing: never here.
    if page.also_called_list:
        about["alternateName"] = page.also_called_list
    web_page = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": page.name,
        "url": url,
        "description": page.summary,
        "dateModified": page.updated_at.isoformat(),
        "about": about,
        **review_claims(page),
    }
    return [web_page, *faq_page(page)]


def condition_structured_data(request, condition):
    return medical_web_page(
        request,
        condition,
        {
            "@type": "MedicalCondition",
            "signOrSymptom": [
                {"@type": "MedicalSignOrSymptom", "name": symptom}
                for symptom in condition.signs_and_symptoms()
            ],
            # schema.org's possibleTreatment takes a MedicalTherapy; an injection or an implant
            # done to relieve pain is one (MedicalTherapy is itself a TherapeuticProcedure).
            "possibleTreatment": [
                {
                    "@type": "MedicalTherapy",
                    "name": step.treatment.name,
                    "url": request.build_absolute_uri(step.treatment.get_absolute_url()),
                }
                for step in condition.shown_steps
            ],
        },
    )


def treatment_structured_data(request, treatment):
    return medical_web_page(request, treatment, {"@type": treatment.schema_type})
