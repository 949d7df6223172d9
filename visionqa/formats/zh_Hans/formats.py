# Simplified Chinese as browsers write it: "1,234,567.5". Django's groups by
# four digits with no separator, which reads as one long number.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
