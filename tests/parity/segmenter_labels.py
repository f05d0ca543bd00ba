"""Small ``labels.json`` contents with the published structure, and labels of the published
sizes, for the segmenter parity tests and the benchmark (a helper module, not a test module)."""


TINY_LABELS = {
    "object": ["-", "sky", "building", "person", "window", "door", "tree", "car", "table",
               "chair", "wall", "floor"],
    "scene": ["street", "kitchen", "bedroom", "forest", "office", "beach", "church"],
    "material": ["-", "wood", "glass", "metal", "fabric"],
    # owners listed out of object order on purpose: the part head follows object order
    "object_part": {
        "table": ["-", "leg", "top"],
        "building": ["-", "window", "door", "roof"],
        "car": ["-", "window", "wheel", "door"],
        "person": ["-", "head", "arm", "leg", "torso"],
    },
}
TINY_CLASSES = {"object": 12, "part": 16, "material": 5, "scene": 7}
COLOR_NAMES = ["-", "black", "blue", "brown", "green", "grey", "orange", "pink", "purple", "red",
               "white", "yellow"]
TINY_COLOR_LABELS = {
    "labels": [{"name": n, "category": "color"} for n in COLOR_NAMES],
    "categories": [{"name": "color"}],
    "imageformat": {"byteorder": "BGR", "mean": [0.41, 0.46, 0.48], "stdev": [0.23, 0.22, 0.24]},
}


def published_labels():
    objects = ["-"] + [f"object{i}" for i in range(1, 336)]
    groups = {}
    for g in range(77):  # 427 channels: 77 groups, each "none" + parts
        n = 5 if g < 42 else 4
        groups[objects[1 + g]] = ["-"] + [f"part{(g * 3 + j) % 112}" for j in range(n)]
    return {"object": objects, "material": ["-"] + [f"m{i}" for i in range(25)],
            "scene": [f"s{i}" for i in range(365)], "object_part": groups}
