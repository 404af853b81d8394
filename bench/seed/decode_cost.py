"""CPU per cv2.imdecode of each image, one OpenCV thread: the seed design's decode cost (used by bench/decode.ts).

Usage: python3 bench/seed/decode_cost.py ROUNDS IMAGE...   prints {"file name": median CPU ms, ...} as JSON.
"""

import json
import os
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
rounds = int(sys.argv[1])
result = {}
for path in sys.argv[2:]:
    data = np.frombuffer(open(path, "rb").read(), np.uint8)
    cv2.imdecode(data, cv2.IMREAD_COLOR)
    runs = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(10):
            cv2.imdecode(data, cv2.IMREAD_COLOR)
        runs.append((time.process_time() - start) / 10 * 1000)
    runs.sort()
    result[os.path.basename(path)] = runs[len(runs) // 2]
print(json.dumps(result))
