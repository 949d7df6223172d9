# Arabic as browsers write it for "ar" (the CLDR's Latin digits): "1,234,567.5".
# Django's swaps the marks and does not group.
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
