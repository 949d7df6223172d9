# The CLDR's French, as browsers write it: a narrow no-break space between
# thousands (Django's is a full-width one).
THOUSAND_SEPARATOR = "\u202f"
