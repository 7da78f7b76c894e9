#!/usr/bin/env python3
"""Generate tollgate's model catalog (src/catalog/data/catalog.json) from LiteLLM's Bedrock price map.

Usage: tools/gen_catalog.py /work/shared/pricing/bedrock-prices.json [-o src/catalog/data/catalog.json]

The output is committed; the build never runs this script. The rules it applies (which keys name which
model, which Regions offer a model, how names are derived) are written down in doc/catalog.md; keep the
two in step. Python 3 standard library only. Ids that cannot be Bedrock model ids are reported on
stderr together with the reason and left out.
"""

import argparse
import hashlib
import json
import os
import re
import sys

# --- Geographies (doc/aws-reference.md §1). `ca.` is left out: seen only in third-party code. ----------

COMMERCIAL_REGIONS = [
    # A snapshot of the AWS commercial partition (not China, GovCloud or ISO). `global.` profiles may
    # route to any of these.
    "af-south-1",
    "ap-east-1", "ap-east-2",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1", "ca-west-1",
    "eu-central-1", "eu-central-2",
    "eu-north-1",
    "eu-south-1", "eu-south-2",
    "eu-west-1", "eu-west-2", "eu-west-3",
    "il-central-1",
    "me-central-1", "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1", "us-east-2", "us-west-1", "us-west-2",
]

GEOGRAPHIES = {
    "us": ["us-east-1", "us-east-2", "us-west-2"],
    "eu": ["eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1",
           "eu-west-2", "eu-west-3"],
    "apac": ["ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
             "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
             "ap-southeast-7", "me-central-1"],
    "jp": ["ap-northeast-1", "ap-northeast-3"],
    "au": ["ap-southeast-2", "ap-southeast-4"],
    "us-gov": ["us-gov-east-1", "us-gov-west-1"],
    "global": COMMERCIAL_REGIONS,
}

# Prefix spelling in profile names: "US Anthropic Claude 3 Haiku", "GLOBAL ...".
GEOGRAPHY_LABELS = {"us": "US", "eu": "EU", "apac": "APAC", "jp": "JP", "au": "AU", "us-gov": "US-GOV",
                    "global": "GLOBAL"}

# LiteLLM prices a bare model id as the US on-demand price: rule (c) in doc/catalog.md.
BASE_ID_REGIONS = ["us-east-1", "us-west-2"]

# --- Providers: the vendor prefix of a model id → providerName (1–20 chars). -------------------------

PROVIDERS = {
    "ai21": "AI21 Labs",
    "amazon": "Amazon",
    "anthropic": "Anthropic",
    "cohere": "Cohere",
    "deepseek": "DeepSeek",
    "google": "Google",
    "meta": "Meta",
    "minimax": "MiniMax",
    "mistral": "Mistral AI",
    "moonshot": "Moonshot AI",
    "moonshotai": "Moonshot AI",
    "nvidia": "NVIDIA",
    "openai": "OpenAI",
    "qwen": "Qwen",
    "stability": "Stability AI",
    "twelvelabs": "TwelveLabs",
    "writer": "Writer",
    "xai": "xAI",
    "zai": "Z.ai",
}

# Names the generic derivation gets wrong or that read better in AWS's own spelling.
NAME_OVERRIDES = {
    "ai21.j2-mid-v1": "Jurassic-2 Mid",
    "ai21.j2-ultra-v1": "Jurassic-2 Ultra",
    "amazon.nova-2-multimodal-embeddings-v1:0": "Nova 2 Multimodal Embeddings",
    "amazon.rerank-v1:0": "Rerank 1.0",
    "amazon.titan-embed-g1-text-02": "Titan Embeddings G1 Text",
    "amazon.titan-embed-image-v1": "Titan Multimodal Embeddings G1",
    "amazon.titan-embed-text-v1": "Titan Embeddings G1 Text",
    "amazon.titan-embed-text-v2:0": "Titan Text Embeddings V2",
    "amazon.titan-image-generator-v1": "Titan Image Generator G1",
    "amazon.titan-image-generator-v2": "Titan Image Generator G1 v2",
    "amazon.titan-image-generator-v2:0": "Titan Image Generator G1 v2",
    "anthropic.claude-mythos-preview": "Claude Mythos Preview",
    "amazon.titan-text-express-v1": "Titan Text Express",
    "amazon.titan-text-lite-v1": "Titan Text Lite",
    "amazon.titan-text-premier-v1:0": "Titan Text Premier",
    "anthropic.claude-v1": "Claude v1",
    "anthropic.claude-v2:1": "Claude v2.1",
    "cohere.command-light-text-v14": "Command Light",
    "cohere.command-r-plus-v1:0": "Command R+",
    "cohere.command-text-v14": "Command",
    "cohere.rerank-v3-5:0": "Rerank 3.5",
    "mistral.mistral-7b-instruct-v0:2": "Mistral 7B Instruct",
    "mistral.mixtral-8x7b-instruct-v0:1": "Mixtral 8x7B Instruct",
    "openai.gpt-oss-120b-1:0": "gpt-oss-120b",
    "openai.gpt-oss-20b-1:0": "gpt-oss-20b",
    "openai.gpt-oss-120b": "gpt-oss-120b",
    "openai.gpt-oss-20b": "gpt-oss-20b",
    "openai.gpt-oss-safeguard-120b": "gpt-oss-safeguard-120b",
    "openai.gpt-oss-safeguard-20b": "gpt-oss-safeguard-20b",
    "stability.sd3-large-v1:0": "SD3 Large",
    "stability.stable-diffusion-xl-v0": "SDXL 0.8",
    "stability.stable-diffusion-xl-v1": "SDXL 1.0",
}

# modelName (BrandedName, 1–20 chars) where cutting the full name at a word boundary would lose the part
# that tells models apart ("Stable Image Search" for both Recolor and Replace).
SHORT_NAMES = {
    "amazon.nova-2-multimodal-embeddings-v1:0": "Nova 2 MM Embeddings",
    "amazon.titan-embed-g1-text-02": "Titan Embed Text 02",
    "amazon.titan-embed-image-v1": "Titan Embed Image G1",
    "amazon.titan-embed-text-v1": "Titan Embed Text G1",
    "amazon.titan-embed-text-v2:0": "Titan Embed Text v2",
    "amazon.titan-image-generator-v1": "Titan Image G1",
    "amazon.titan-image-generator-v2": "Titan Image G1 v2",
    "amazon.titan-image-generator-v2:0": "Titan Image G1 v2",
    "anthropic.claude-mythos-preview": "Claude Mythos Prev",
    "nvidia.nemotron-super-3-120b": "Nemotron Super 120B",
    "openai.gpt-oss-safeguard-120b": "OSS Safeguard 120B",
    "openai.gpt-oss-safeguard-20b": "OSS Safeguard 20B",
    "stability.stable-conservative-upscale-v1:0": "Conservative Upscale",
    "stability.stable-creative-upscale-v1:0": "Creative Upscale",
    "stability.stable-image-control-sketch-v1:0": "Control Sketch",
    "stability.stable-image-control-structure-v1:0": "Control Structure",
    "stability.stable-image-erase-object-v1:0": "Erase Object",
    "stability.stable-image-remove-background-v1:0": "Remove Background",
    "stability.stable-image-search-recolor-v1:0": "Search and Recolor",
    "stability.stable-image-search-replace-v1:0": "Search and Replace",
    "stability.stable-image-style-guide-v1:0": "Style Guide",
    "stability.stable-style-transfer-v1:0": "Style Transfer",
}

# Vendors whose model names carry the vendor's own brand ("DeepSeek R1", not "R1").
NAME_PREFIX = {"deepseek": "DeepSeek"}

# Tokens spelled in a fixed way in derived names.
TOKEN_SPELLING = {
    "gpt": "GPT", "oss": "OSS", "glm": "GLM", "xl": "XL", "it": "IT", "vl": "VL", "sd3": "SD3",
    "minimax": "MiniMax", "deepseek": "DeepSeek", "ai21": "AI21", "sdxl": "SDXL",
}

# --- Patterns from the Bedrock service model (aws-models/bedrock/service-2.json). ----------------------

BEDROCK_MODEL_ID = re.compile(
    r"[a-z0-9-]{1,63}[.]{1}[a-z0-9-]{1,63}([a-z0-9-]{1,63}[.]){0,2}[a-z0-9-]{1,63}([:][a-z0-9-]{1,63}){0,2}")
BEDROCK_MODEL_ID_MAX = 140
PROFILE_DESCRIPTION = re.compile(r"([0-9a-zA-Z:.][ _-]?)+")
PROFILE_DESCRIPTION_MAX = 200
BRANDED_NAME_MAX = 20

REGION = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]")
SIZE_STEPS = re.compile(r"^(?:[0-9]+-x-[0-9]+|max-x-max)/(?:[0-9]+|max)-steps/")
COMMITMENT = re.compile(r"^([0-9]+)-month-commitment/")


class Key:
    """One price-file key, decomposed: which model it names and how (kind) / where (region, geo)."""

    def __init__(self, raw, order, entry):
        self.raw = raw
        self.order = order
        self.entry = entry
        self.kind = "base"      # base | region | commitment | geo
        self.region = None      # a region named in bedrock/<region>/..., or None
        self.wildcard = False   # bedrock/*/... — a price for every region, names none
        self.geo = None         # us | eu | ... for geography-prefixed keys
        self.plain = False      # the key is exactly the model id
        self.model_id = self._parse(raw)

    def _parse(self, raw):
        rest = raw
        if rest.startswith("bedrock_mantle/"):
            rest = rest[len("bedrock_mantle/"):]
        m = SIZE_STEPS.match(rest)
        if m:
            rest = rest[m.end():]
        if rest.startswith("bedrock/"):
            rest = rest[len("bedrock/"):]
            seg, sep, after = rest.partition("/")
            if sep and (REGION.fullmatch(seg) or seg in ("*", "invoke")):
                rest = after
                if seg == "*":
                    self.wildcard = True
                elif seg != "invoke":  # bedrock/invoke/ is LiteLLM's InvokeModel route, not a region
                    self.region = seg
                    self.kind = "region"
            m = COMMITMENT.match(rest)
            if m:
                rest = rest[m.end():]
                self.kind = "commitment"
        for geo in GEOGRAPHIES:
            if rest.startswith(geo + ".") and "." in rest[len(geo) + 1:]:
                self.geo = geo
                self.kind = "geo"
                rest = rest[len(geo) + 1:]
                break
        self.plain = rest == raw
        return rest


def drop_reason(model_id):
    if len(model_id) > BEDROCK_MODEL_ID_MAX:
        return f"longer than {BEDROCK_MODEL_ID_MAX} characters"
    if BEDROCK_MODEL_ID.fullmatch(model_id):
        return None
    if "." not in model_id.split(":", 1)[0]:
        return "no vendor prefix (BedrockModelId needs <vendor>.<name>)"
    bad = sorted(set(c for c in model_id if not re.match(r"[a-z0-9.:-]", c)))
    if bad:
        return "characters not allowed by BedrockModelId: " + " ".join(repr(c) for c in bad)
    return "does not match the BedrockModelId pattern"


# --- Names ----------------------------------------------------------------------------------------------

def spell(token):
    if token in TOKEN_SPELLING:
        return TOKEN_SPELLING[token]
    if re.fullmatch(r"sd[0-9]+(\.[0-9]+)*", token):              # sd3.5 → SD3.5
        return token.upper()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?[bkm]", token):        # 8b, 675b → 8B, 675B
        return token.upper()
    if re.fullmatch(r"[0-9]+x[0-9]+[bkm]", token):            # 8x7b → 8x7B
        return token[:-1] + token[-1].upper()
    if re.fullmatch(r"[a-z][0-9]+(\.[0-9]+)*[a-z]?", token):  # k2.5, m2.1, a35b, e2b, r1, x4 → upper
        return token.upper()
    m = re.fullmatch(r"(llama)([0-9]+(\.[0-9]+)*)", token)    # llama3.1 → Llama 3.1
    if m:
        return "Llama " + m.group(2)
    return token[:1].upper() + token[1:]


def derive_name(model_id):
    """A human-readable, untruncated name: "Claude 3 Haiku", "Llama 3.1 8B Instruct"."""
    if model_id in NAME_OVERRIDES:
        return NAME_OVERRIDES[model_id]
    vendor, rest = model_id.split(".", 1)
    rest = re.sub(r":[0-9a-z-]+$", "", rest)                  # :0, :1
    rest = re.sub(r"-[0-9]{8}(?=-|$)", "", rest)              # release dates 20240307
    suffix = ""
    m = re.search(r"-v([0-9]+)$", rest)
    if m:
        rest = rest[:m.start()]
        if int(m.group(1)) >= 2:
            suffix = " v" + m.group(1)
    tokens = rest.split("-")
    merged = []
    for tok in tokens:
        # 3-5 → 3.5, llama3-1 → llama3.1, but not 3-12b.
        if merged and re.fullmatch(r"[0-9]{1,2}", tok) and re.search(r"[0-9]$", merged[-1]) \
                and not re.fullmatch(r"[0-9]{4}", merged[-1]):
            merged[-1] += "." + tok
        else:
            merged.append(tok)
    words = []
    for tok in merged:
        if re.fullmatch(r"2[4-9](0[1-9]|1[0-2])", tok):       # Mistral YYMM versions: 2402 → 24.02
            words.append(tok[:2] + "." + tok[2:])
        else:
            words.append(spell(tok))
    name = " ".join(words) + suffix
    name = re.sub(r"^GPT ([0-9])", r"GPT-\1", name)           # OpenAI's spelling: GPT-5.4
    if vendor in NAME_PREFIX and not name.startswith(NAME_PREFIX[vendor]):
        name = NAME_PREFIX[vendor] + " " + name
    return name


def truncate_name(name, limit=BRANDED_NAME_MAX):
    """Cut at a word boundary when possible; otherwise hard-cut at `limit` characters."""
    if len(name) <= limit:
        return name
    cut = name[:limit + 1].rsplit(" ", 1)[0].rstrip(" -")
    if 0 < len(cut) <= limit and len(cut) >= limit // 2:
        return cut
    return name[:limit].rstrip(" -")


def description_name(name):
    """The name reduced to what InferenceProfileDescription allows: [0-9a-zA-Z:.] words, single separators."""
    s = re.sub(r"[^0-9a-zA-Z:. _-]+", " ", name.replace("+", " Plus"))
    s = re.sub(r"[ _-]{2,}", " ", s).strip(" _-")
    return s


def profile_description(provider, name, geo):
    who = description_name(f"{provider} {name}")
    regions = GEOGRAPHIES[geo]
    if len(regions) == 1:
        where = regions[0]
    else:
        where = " ".join(regions[:-1]) + " and " + regions[-1]
    text = f"Routes requests to {who} in {where}."
    if len(text) > PROFILE_DESCRIPTION_MAX or not PROFILE_DESCRIPTION.fullmatch(text):
        if geo == "global":
            text = f"Routes requests to {who} in all {len(regions)} commercial AWS Regions."
        else:
            label = GEOGRAPHY_LABELS[geo]
            text = f"Routes requests to {who} in the {len(regions)} Regions of the {label} geography."
    if len(text) > PROFILE_DESCRIPTION_MAX or not PROFILE_DESCRIPTION.fullmatch(text):
        text = f"Routes requests to {description_name(name)} across {GEOGRAPHY_LABELS[geo]} Regions."
    if len(text) > PROFILE_DESCRIPTION_MAX or not PROFILE_DESCRIPTION.fullmatch(text):
        raise SystemExit(f"gen_catalog: cannot build a valid description for {geo}.{name}")
    return text


# --- Modalities -----------------------------------------------------------------------------------------

def normalise_mode(mode):
    return "chat" if mode == "responses" else mode  # mantle "responses" models are chat models


def accepts_images(entries):
    for e in entries:
        if any(e.get(flag) for flag in ("supports_vision", "supports_image_input",
                                         "supports_embedding_image_input")):
            return True
        if "image" in (e.get("supported_modalities") or []):
            return True
    return False


def modalities(mode, images):
    text_image = ["IMAGE", "TEXT"] if images else ["TEXT"]
    if mode == "chat":
        return text_image, ["TEXT"]
    if mode == "embedding":
        return text_image, ["EMBEDDING"]
    if mode == "image_generation":
        return text_image, ["IMAGE"]
    if mode == "image_edit":
        return ["IMAGE", "TEXT"], ["IMAGE"]
    if mode == "rerank":
        return ["TEXT"], ["TEXT"]
    raise SystemExit(f"gen_catalog: unknown mode {mode!r}; teach modalities() about it")


# --- Assembly -------------------------------------------------------------------------------------------

def key_priority(key):
    """Which key's token limits win: the bare id, then US/other profiles, then routed/regional keys."""
    if key.plain:
        return 0
    if key.kind == "geo":
        return 1 if key.geo == "us" else 2
    return {"base": 3, "region": 4, "commitment": 5}[key.kind]


def build(prices):
    keys = [Key(raw, i, entry) for i, (raw, entry) in enumerate(prices.items())]
    by_model = {}
    dropped = {}
    for key in keys:
        reason = drop_reason(key.model_id)
        if reason:
            dropped.setdefault(key.model_id, (reason, []))[1].append(key.raw)
            continue
        by_model.setdefault(key.model_id, []).append(key)

    models = []
    profiles = {}
    for model_id in sorted(by_model):
        mkeys = by_model[model_id]
        vendor = model_id.split(".", 1)[0]
        if vendor not in PROVIDERS:
            raise SystemExit(f"gen_catalog: no provider name for vendor {vendor!r} ({model_id}); "
                             "add it to PROVIDERS")
        provider = PROVIDERS[vendor]
        modes = sorted(set(normalise_mode(k.entry["mode"]) for k in mkeys))
        if len(modes) != 1:
            raise SystemExit(f"gen_catalog: {model_id} has conflicting modes {modes}")
        mode = modes[0]
        inputs, outputs = modalities(mode, accepts_images([k.entry for k in mkeys]))

        regions = set()
        on_demand = provisioned = profiled = False
        for k in mkeys:
            if k.kind == "geo":
                regions.update(GEOGRAPHIES[k.geo])
                profiled = True
            elif k.kind == "commitment":
                provisioned = True
                if k.region:
                    regions.add(k.region)
            elif k.kind == "region":
                regions.add(k.region)
                on_demand = True
            elif k.wildcard:
                on_demand = True  # bedrock/*/<model>: priced everywhere, names no region
            else:
                regions.update(BASE_ID_REGIONS)
                on_demand = True
        inference = []
        if on_demand:
            inference.append("ON_DEMAND")
        if provisioned:
            inference.append("PROVISIONED")
        if profiled and not on_demand:
            inference.append("INFERENCE_PROFILE")

        full_name = derive_name(model_id)
        model = {
            "modelId": model_id,
            "modelName": SHORT_NAMES.get(model_id) or truncate_name(full_name),
            "providerName": provider,
            "inputModalities": sorted(inputs),
            "outputModalities": sorted(outputs),
            "responseStreamingSupported": mode == "chat",
            "inferenceTypesSupported": inference,
            "customizationsSupported": [],
            "modelLifecycle": {"status": "ACTIVE"},
        }
        ordered = sorted(mkeys, key=lambda k: (key_priority(k), k.order))
        for field, out in (("max_input_tokens", "maxInputTokens"), ("max_output_tokens", "maxOutputTokens")):
            for k in ordered:
                value = k.entry.get(field)
                if isinstance(value, int) and value > 0:
                    model[out] = value
                    break
        model["regions"] = sorted(regions)
        models.append(model)

        for k in mkeys:
            if k.kind != "geo":
                continue
            pid = f"{k.geo}.{model_id}"
            if pid in profiles:
                continue
            profiles[pid] = {
                "id": pid,
                "geography": k.geo,
                "modelId": model_id,
                "name": f"{GEOGRAPHY_LABELS[k.geo]} {provider} {full_name}",
                "description": profile_description(provider, full_name, k.geo),
                "regions": sorted(GEOGRAPHIES[k.geo]),
            }

    return models, [profiles[p] for p in sorted(profiles)], dropped


def check(catalog):
    """Fail loudly on anything the C++ loader or the AWS shapes would reject."""
    ids = set()
    for m in catalog["models"]:
        assert BEDROCK_MODEL_ID.fullmatch(m["modelId"]), m["modelId"]
        assert 1 <= len(m["modelName"]) <= BRANDED_NAME_MAX, m
        assert 1 <= len(m["providerName"]) <= BRANDED_NAME_MAX, m
        assert m["regions"], m["modelId"]
        assert m["inferenceTypesSupported"], m["modelId"]
        ids.add(m["modelId"])
    for p in catalog["systemProfiles"]:
        assert p["modelId"] in ids, p
        assert p["id"] == f'{p["geography"]}.{p["modelId"]}', p
        assert 1 <= len(p["name"]) <= 64, p  # InferenceProfileName is 1-64
        assert PROFILE_DESCRIPTION.fullmatch(p["description"]), p
        assert len(p["description"]) <= PROFILE_DESCRIPTION_MAX, p
    for must in ("anthropic.claude-3-haiku-20240307-v1:0", "meta.llama3-1-8b-instruct-v1:0",
                 "amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0"):
        assert must in ids, f"required model {must} missing"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("prices", help="path to bedrock-prices.json (LiteLLM Bedrock subset)")
    default_output = os.path.join(here, "..", "src", "catalog", "data", "catalog.json")
    parser.add_argument("-o", "--output", default=default_output)
    args = parser.parse_args()

    with open(args.prices, "rb") as f:
        raw = f.read()
    prices = json.loads(raw)
    models, profiles, dropped = build(prices)

    catalog = {
        "source": {
            "file": os.path.basename(args.prices),
            "sha256": hashlib.sha256(raw).hexdigest(),
            "generator": "tools/gen_catalog.py",
        },
        "geographies": {geo: sorted(regions) for geo, regions in sorted(GEOGRAPHIES.items())},
        "models": models,
        "systemProfiles": profiles,
    }
    check(catalog)

    for model_id in sorted(dropped):
        reason, raw_keys = dropped[model_id]
        print(f"gen_catalog: dropped {model_id!r}: {reason} (keys: {', '.join(raw_keys)})", file=sys.stderr)
    print(f"gen_catalog: {len(models)} models, {len(profiles)} system profiles, {len(dropped)} ids dropped",
          file=sys.stderr)

    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="ascii", newline="\n") as f:
        json.dump(catalog, f, indent=2, sort_keys=False, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    main()
