# English as VisionQA has always written it: "1 December", where Django's
# own English says "December 1". Every other format is Django's.
MONTH_DAY_FORMAT = "j F"
