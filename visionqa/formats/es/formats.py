# The CLDR's Spanish, as browsers write it: "1.234.567,5" (Django's has a
# space between thousands). Four-digit numbers go ungrouped: chat/numbers.py.
THOUSAND_SEPARATOR = "."
