#!/usr/bin/env python3
"""Generate tollgate's price book (src/meter/data/prices.json) from LiteLLM's Bedrock price map.

Usage: tools/gen_prices.py /work/shared/pricing/bedrock-prices.json [-o src/meter/data/prices.json]
                           [--catalog src/catalog/data/catalog.json]

The output is committed; the build never runs this script. Prices are written as integer nano-USD per
1,000,000 tokens, converted exactly from the decimal text of the JSON numbers (USD per token × 10^15); a
value that is not an exact integer in those units stops the script. Only models of the catalog are priced,
and which model a key names is decided by tools/gen_catalog.py's own key parser (imported, so the two
generators cannot disagree). The rules are written down in doc/pricing.md; keep the two in step.
Python 3 standard library only.
"""

import argparse
import decimal
import hashlib
import json
import os
import sys
from decimal import Decimal

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_catalog  # noqa: E402  (Key: price-file key → model id, kind, region, geography)

# Token price fields of the price file → field names in prices.json.
TOKEN_FIELDS = [
    ("input_cost_per_token", "input"),
    ("output_cost_per_token", "output"),
    ("cache_read_input_token_cost", "cacheRead"),
    ("cache_creation_input_token_cost", "cacheWrite"),
]
TOKEN_FIELD_NAMES = dict(TOKEN_FIELDS)

# Price fields deliberately left out (doc/pricing.md, "What is not priced"). Any other `*cost*` field stops
# the script, so a new kind of price is never dropped silently.
IGNORED_FIELDS = {
    # long-context tier (prompts above 200k tokens)
    "input_cost_per_token_above_200k_tokens", "output_cost_per_token_above_200k_tokens",
    "cache_read_input_token_cost_above_200k_tokens", "cache_creation_input_token_cost_above_200k_tokens",
    "cache_creation_input_token_cost_above_1hr_above_200k_tokens",
    # 1-hour cache writes (Anthropic extended TTL)
    "cache_creation_input_token_cost_above_1hr",
    # batch inference
    "input_cost_per_token_batches", "output_cost_per_token_batches",
    # non-token prices: Provisioned Throughput, media, per-request
    "input_cost_per_second", "output_cost_per_second", "input_cost_per_image", "output_cost_per_image",
    "input_cost_per_video_per_second", "input_cost_per_audio_per_second", "input_cost_per_image_token",
    "input_cost_per_audio_token", "input_cost_per_query", "search_context_cost_per_query",
}

# USD per token → nano-USD per 1,000,000 tokens.
SCALE = Decimal(10) ** 15
INT64_MAX = 2 ** 63 - 1


def fail(message):
    raise SystemExit(f"gen_prices: {message}")


def nano_per_million(raw_key, field, value):
    """Exact conversion; stops the script on anything that is not an exact non-negative integer result."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        fail(f"{raw_key}: {field} is {value!r}, not a number")
    with decimal.localcontext() as ctx:  # exact: a rounded product could pass for an integer
        ctx.prec = 200
        ctx.traps[decimal.Inexact] = True
        scaled = Decimal(value) * SCALE
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        fail(f"{raw_key}: {field} = {value} USD/token is not a whole number of nano-USD per million tokens")
    n = int(scaled)
    if n < 0 or n > INT64_MAX:
        fail(f"{raw_key}: {field} = {value} USD/token is out of range")
    return n


def token_prices(key):
    """The token prices of one key as {field: nano-USD per million}, empty when it has none."""
    out = {}
    for field, value in key.entry.items():
        if "cost" not in field:
            continue
        if field in TOKEN_FIELD_NAMES:
            if value is not None:  # null = no price, same as an absent field
                out[TOKEN_FIELD_NAMES[field]] = nano_per_million(key.raw, field, value)
        elif field not in IGNORED_FIELDS:
            fail(f"{key.raw}: unknown price field {field!r}; teach gen_prices.py about it")
    return out


def base_rank(key):
    """Which base key wins when several price the same model: the bare id, then bedrock/ and bedrock/invoke/
    (LiteLLM's InvokeModel route), then bedrock/*/, then bedrock_mantle/ (a different endpoint), then the
    image size/steps keys. File order breaks ties."""
    if key.plain:
        return 0
    if key.raw.startswith("bedrock_mantle/"):
        return 3
    if gen_catalog.SIZE_STEPS.match(key.raw):
        return 4
    if key.wildcard:
        return 2
    return 1


def build(prices, catalog):
    catalog_ids = [m["modelId"] for m in catalog["models"]]
    known = set(catalog_ids)
    # slot → [(rank, order, key, prices)]; slot = (model, region, geography)
    slots = {}
    long_context = set()
    for order, (raw, entry) in enumerate(prices.items()):
        key = gen_catalog.Key(raw, order, entry)
        if key.model_id not in known or key.kind == "commitment":
            continue  # dropped by the catalog, or a Provisioned Throughput (per-second) price
        if any(f.endswith("_above_200k_tokens") for f in entry):
            long_context.add(key.model_id)
        tp = token_prices(key)
        if not tp:
            continue  # image / per-second / per-query prices only
        if key.kind == "geo":
            if key.region or key.wildcard:
                fail(f"{raw}: a key with both a Region and a geography; no rule for it")
            slot, rank = (key.model_id, "", key.geo), (0 if raw.startswith(key.geo + ".") else 1)
        elif key.kind == "region":
            slot, rank = (key.model_id, key.region, ""), 0
        elif key.kind == "base":
            slot, rank = (key.model_id, "", ""), base_rank(key)
        else:
            fail(f"{raw}: unknown key kind {key.kind!r}")
        slots.setdefault(slot, []).append((rank, order, raw, tp))

    entries = []
    # Per model: the base price, then geography prices, then Region prices.
    for slot in sorted(slots, key=lambda s: (s[0], 0 if not (s[1] or s[2]) else 1 if s[2] else 2, s[2], s[1])):
        candidates = sorted(slots[slot], key=lambda c: (c[0], c[1]))
        winner = candidates[0]
        for other in candidates[1:]:
            if other[3] != winner[3]:
                print(f"gen_prices: {slot[0]}: {winner[2]!r} {winner[3]} wins over {other[2]!r} {other[3]}",
                      file=sys.stderr)
        model, region, geo = slot
        e = {"model": model}
        if region:
            e["region"] = region
        if geo:
            e["geography"] = geo
        for _, name in TOKEN_FIELDS:
            if name in winner[3]:
                e[name] = winner[3][name]
        entries.append(e)

    unpriced = []
    for model_id in sorted(catalog_ids):
        mine = [e for e in entries if e["model"] == model_id]
        missing = [n for n in ("input", "output") if not any(n in e for e in mine)]
        if missing:
            what = "no token price at all" if not mine else "no " + " or ".join(missing) + " token price"
            unpriced.append({"model": model_id, "missing": missing, "reason": what})
        for e in mine:
            partial = [n for n in ("input", "output") if n not in e and n not in missing]
            if partial:
                fail(f"{model_id}: entry {e} lacks {partial} that other entries of the model have; no rule for it")
    return entries, unpriced, sorted(long_context)


def check(entries, unpriced, catalog):
    ids = {m["modelId"] for m in catalog["models"]}
    seen = set()
    for e in entries:
        assert e["model"] in ids, e
        slot = (e["model"], e.get("region", ""), e.get("geography", ""))
        assert slot not in seen, e
        seen.add(slot)
        assert not (e.get("region") and e.get("geography")), e
        if e.get("region"):
            assert gen_catalog.REGION.fullmatch(e["region"]), e
        if e.get("geography"):
            assert e["geography"] in gen_catalog.GEOGRAPHIES, e
    by_slot = {(e["model"], e.get("region", ""), e.get("geography", "")): e for e in entries}
    haiku = by_slot[("anthropic.claude-3-haiku-20240307-v1:0", "", "")]
    assert haiku["input"] == 250_000_000 and haiku["output"] == 1_250_000_000, haiku
    for u in unpriced:
        assert u["model"] in ids, u


def render(doc):
    """Indented JSON with one price entry a line: reviewable diffs, deterministic bytes."""
    lines = ["{"]
    lines.append('  "source": ' + json.dumps(doc["source"]) + ",")
    lines.append('  "units": ' + json.dumps(doc["units"]) + ",")
    lines.append('  "prices": [')
    for i, e in enumerate(doc["prices"]):
        lines.append("    " + json.dumps(e) + ("," if i + 1 < len(doc["prices"]) else ""))
    lines.append("  ],")
    lines.append('  "unpriced": [')
    for i, u in enumerate(doc["unpriced"]):
        lines.append("    " + json.dumps(u) + ("," if i + 1 < len(doc["unpriced"]) else ""))
    lines.append("  ],")
    lines.append('  "longContextIgnored": ' + json.dumps(doc["longContextIgnored"]))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("prices", help="path to bedrock-prices.json (LiteLLM Bedrock subset)")
    parser.add_argument("-o", "--output", default=os.path.join(here, "..", "src", "meter", "data", "prices.json"))
    parser.add_argument("--catalog", default=os.path.join(here, "..", "src", "catalog", "data", "catalog.json"))
    args = parser.parse_args()

    with open(args.prices, "rb") as f:
        raw = f.read()
    # Decimal from the number's own text: 3.125e-06 stays exact, never a binary double.
    prices = json.loads(raw, parse_float=Decimal)
    with open(args.catalog, "rb") as f:
        catalog = json.load(f)

    entries, unpriced, long_context = build(prices, catalog)
    check(entries, unpriced, catalog)
    doc = {
        "source": {"file": os.path.basename(args.prices), "sha256": hashlib.sha256(raw).hexdigest(),
                   "generator": "tools/gen_prices.py"},
        "units": "nano-USD per 1000000 tokens",
        "prices": entries,
        "unpriced": unpriced,
        "longContextIgnored": long_context,
    }

    for u in unpriced:
        print(f"gen_prices: unpriced {u['model']}: {u['reason']}", file=sys.stderr)
    base = sum(1 for e in entries if "region" not in e and "geography" not in e)
    geo = sum(1 for e in entries if "geography" in e)
    region = sum(1 for e in entries if "region" in e)
    priced = len({e["model"] for e in entries})
    print(f"gen_prices: {priced} of {len(catalog['models'])} catalog models priced; {base} base, {geo} geography, "
          f"{region} Region prices; {len(unpriced)} unpriced; long-context tier ignored for {len(long_context)}",
          file=sys.stderr)

    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="ascii", newline="\n") as f:
        f.write(render(doc))


if __name__ == "__main__":
    main()
