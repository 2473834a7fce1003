"""Windows whose answers are known, as a device would send them (shared by the predict tests)."""

REGULAR_RR = [1000, 985, 1010, 995, 1005, 1020, 990, 1000, 1010, 995]
REGULAR_HR = [60, 61, 59, 60, 60, 59, 61, 60, 60, 60]
IRREGULAR_RR = [620, 1110, 540, 890, 1310, 700, 480, 1020, 760, 1190, 580, 930]
# One window of simulated AF (model A, ~90 bpm) seen through 1 Hz beat-derived rates, and the
# same person's minute before it. (A window of arbitrary jumps between 46 and 125 bpm, the sample
# before model 3.0.0, looks like no rhythm the model was trained on: alone it scores below the
# heart-rate threshold.)
IRREGULAR_HR = [102, 91, 65, 102, 71, 100, 70, 102, 106, 96]
IRREGULAR_HR_MINUTE_BEFORE = [
    65, 67, 101, 82, 65, 94, 104, 90, 133, 112, 95, 102, 101, 105, 89, 93, 65, 96, 92, 117,
    56, 79, 87, 106, 127, 102, 94, 108, 76, 102, 71, 102, 96, 53, 84, 82, 92, 80, 94, 81,
    127, 91, 88, 100, 74, 88, 101, 102, 102, 74,
]
