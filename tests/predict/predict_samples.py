"""Windows whose answers are known, as a device would send them (shared by the predict tests)."""

REGULAR_RR = [1000, 985, 1010, 995, 1005, 1020, 990, 1000, 1010, 995]
REGULAR_HR = [60, 61, 59, 60, 60, 59, 61, 60, 60, 60]
IRREGULAR_RR = [620, 1110, 540, 890, 1310, 700, 480, 1020, 760, 1190, 580, 930]
IRREGULAR_HR = [97, 54, 111, 67, 46, 86, 125, 59, 79, 50]
