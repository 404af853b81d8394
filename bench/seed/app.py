"""The seed article's design, built for real: FastAPI, the original Caffe model under OpenCV DNN,
inference inline in the request. Run: python3 -m uvicorn app:app --workers 2 --port N

Kept deliberately minimal and faithful (no batching, no queue, no thread offload): it is the
baseline maskq is measured against (bench/seed.ts, bench/compare.ts).
"""

import os
import time

import cv2
import numpy as np
from fastapi import FastAPI, File, UploadFile
from fastapi.responses import JSONResponse

MODEL_DIR = os.environ.get(
    "SEED_MODEL_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "models", "aizoo-face-mask"),
)
INPUT_SIZE = 260
CONF_THRESHOLD = 0.5
NMS_IOU = 0.4
LABELS = ("mask", "no_mask")
FEATURE_MAPS = ((33, 33), (17, 17), (9, 9), (5, 5), (3, 3))
ANCHOR_SIZES = ((0.04, 0.056), (0.08, 0.11), (0.16, 0.22), (0.32, 0.45), (0.64, 0.72))
ANCHOR_RATIOS = (1.0, 0.62, 0.42)
VARIANCES = np.array([0.1, 0.1, 0.2, 0.2], dtype=np.float32)


def generate_anchors():
    """[5972, 4] as (cx, cy, w, h), fractions of the image: level, row, column, then 4 anchors."""
    out = []
    for (fh, fw), sizes in zip(FEATURE_MAPS, ANCHOR_SIZES):
        shapes = [(s * np.sqrt(ANCHOR_RATIOS[0]), s / np.sqrt(ANCHOR_RATIOS[0])) for s in sizes]
        shapes += [(sizes[0] * np.sqrt(r), sizes[0] / np.sqrt(r)) for r in ANCHOR_RATIOS[1:]]
        for y in range(fh):
            for x in range(fw):
                cx, cy = (x + 0.5) / fw, (y + 0.5) / fh
                for w, h in shapes:
                    out.append((cx, cy, w, h))
    return np.array(out, dtype=np.float32)


ANCHORS = generate_anchors()
# Unset (the default, as the article's design): OpenCV picks its own thread count. Set only to measure
# how much its thread pool in each uvicorn worker costs on a small machine.
if os.environ.get("SEED_CV_THREADS"):
    cv2.setNumThreads(int(os.environ["SEED_CV_THREADS"]))
net = cv2.dnn.readNetFromCaffe(
    os.path.join(MODEL_DIR, "face_mask_detection.prototxt"),
    os.path.join(MODEL_DIR, "face_mask_detection.caffemodel"),
)
OUTPUT_NAMES = net.getUnconnectedOutLayersNames()

app = FastAPI()


def detect(image):
    height, width = image.shape[:2]
    blob = cv2.dnn.blobFromImage(image, scalefactor=1 / 255.0, size=(INPUT_SIZE, INPUT_SIZE), swapRB=True)
    net.setInput(blob)
    outputs = net.forward(OUTPUT_NAMES)
    # Boxes have 4 values per anchor, scores 2: tell them apart by their last axis.
    loc = next(o for o in outputs if o.shape[-1] == 4).reshape(-1, 4)
    cls = next(o for o in outputs if o.shape[-1] == 2).reshape(-1, 2)

    offsets = loc * VARIANCES
    cx = offsets[:, 0] * ANCHORS[:, 2] + ANCHORS[:, 0]
    cy = offsets[:, 1] * ANCHORS[:, 3] + ANCHORS[:, 1]
    w = np.exp(offsets[:, 2]) * ANCHORS[:, 2]
    h = np.exp(offsets[:, 3]) * ANCHORS[:, 3]
    x1, y1 = cx - w / 2, cy - h / 2

    scores = cls.max(axis=1)
    classes = cls.argmax(axis=1)
    keep = np.where(scores > CONF_THRESHOLD)[0]
    rects = [[float(x1[i]), float(y1[i]), float(w[i]), float(h[i])] for i in keep]
    picked = cv2.dnn.NMSBoxes(rects, [float(scores[i]) for i in keep], CONF_THRESHOLD, NMS_IOU) if len(keep) else []

    detections = []
    for j in np.array(picked).flatten():
        i = keep[int(j)]
        box = [
            max(0.0, float(x1[i])) * width,
            max(0.0, float(y1[i])) * height,
            min(1.0, float(x1[i] + w[i])) * width,
            min(1.0, float(y1[i] + h[i])) * height,
        ]
        detections.append(
            {"label": LABELS[int(classes[i])], "score": round(float(scores[i]), 4), "box": [round(v, 1) for v in box]}
        )
    masked = sum(1 for d in detections if d["label"] == "mask")
    return {
        "width": width,
        "height": height,
        "detections": detections,
        "summary": {"faces": len(detections), "masked": masked, "unmasked": len(detections) - masked},
    }


@app.get("/health")
async def health():
    return {"ok": True}


@app.post("/detect")
async def detect_endpoint(file: UploadFile = File(...)):
    started = time.perf_counter()
    data = await file.read()
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return JSONResponse(status_code=400, content={"success": False, "error": "cannot decode image"})
    result = detect(image)
    return {"success": True, "result": result, "processing_time": round(time.perf_counter() - started, 4)}
