"""Checks the seed server's answers against ../shared/fixtures/golden.json (a sanity check, not a CI test).

Usage: python3 bench/seed/check_golden.py http://127.0.0.1:PORT [image ...]
With no images, checks every fixture. Tolerances as the shared README says: same labels and count,
box IoU >= 0.85, score within 0.05.
"""

import json
import os
import sys
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.environ.get("SEED_FIXTURES_DIR", os.path.join(HERE, "..", "..", "..", "shared", "fixtures"))


def post_image(url, path):
    boundary = uuid.uuid4().hex
    with open(path, "rb") as f:
        data = f.read()
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{os.path.basename(path)}\"\r\n"
        f"Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def compare(expected, got):
    problems, min_iou = [], 1.0
    exp, act = expected["detections"], got["detections"]
    if len(exp) != len(act):
        return [f"count {len(act)} != {len(exp)}"], 0.0
    remaining = list(act)
    for e in exp:
        best = max(remaining, key=lambda d: iou(d["box"], e["box"]))
        remaining.remove(best)
        overlap = iou(best["box"], e["box"])
        min_iou = min(min_iou, overlap)
        if best["label"] != e["label"]:
            problems.append(f"label {best['label']} != {e['label']}")
        if overlap < 0.85:
            problems.append(f"IoU {overlap:.3f} < 0.85")
        if abs(best["score"] - e["score"]) > 0.05:
            problems.append(f"score {best['score']} vs {e['score']}")
    return problems, min_iou


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    base = sys.argv[1].rstrip("/")
    golden = json.load(open(os.path.join(FIXTURES, "golden.json")))["images"]
    names = sys.argv[2:] or sorted(golden)
    failed = 0
    for name in names:
        answer = post_image(base + "/detect", os.path.join(FIXTURES, "images", name))
        problems, min_iou = compare(golden[name], answer["result"]) if answer.get("success") else (["success is false"], 0.0)
        status = "ok" if not problems else "FAIL " + "; ".join(problems)
        print(f"{name:32} {status} (faces {len(golden[name]['detections'])}, min IoU {min_iou:.3f})")
        failed += bool(problems)
    print(f"{len(names) - failed}/{len(names)} match golden.json")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
