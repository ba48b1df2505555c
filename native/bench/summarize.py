#!/usr/bin/env python3
"""Prints the gpu-check results table from its step log and the JSON files engine-bench and
hf_peer.py wrote. Usage: summarize.py RESULTS_DIR (holds steps.tsv, bench-*.json, hf.json)."""
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:
        return None


def main():
    d = sys.argv[1]
    lines = []
    lines.append("=" * 78)
    lines.append("GPU CHECK RESULTS")
    lines.append("=" * 78)
    steps = []
    if os.path.exists(os.path.join(d, "steps.tsv")):
        for row in open(os.path.join(d, "steps.tsv")):
            parts = row.rstrip("\n").split("\t")
            if len(parts) >= 3:
                steps.append(parts)
    for name, status, secs, *note in steps:
        lines.append(f"  {name:<34} {status:<8} {float(secs):6.1f}s  {' '.join(note)[:60]}")
    hf = load(os.path.join(d, "hf.json")) or {}
    if hf.get("device"):
        lines.append(f"  card: {hf['device']}  (transformers {hf.get('transformers')}, torch {hf.get('torch')})")
    best_hf = hf.get("best_output_tok_s") or 0
    for tag in ("1b", "1b-nographs", "1b-bf16act", "1b-ops", "1b-temp", "1b-topp", "1b-logprobs", "1b-penalties", "3b"):
        b = load(os.path.join(d, f"bench-{tag}.json"))
        if not b:
            continue
        lines.append("-" * 78)
        lines.append(f"{b['label']} on {b['backend']}: weights {b['weight_bytes']/1e9:.2f} GB, copy bw "
                     f"{b['copy_bandwidth_gbs']:.0f} GB/s, memory in use {b['peak_memory_bytes']/1e9:.1f} GB")
        lines.append(f"  prompt {b['prompt_len']} tok: {b['prompt_tok_s']:.0f} tok/s   TTFT {b['ttft_len']}-tok prompt: "
                     f"{b['ttft_ms']:.2f} ms")
        if b.get("batched_prefill_tok_s"):
            lines.append(f"  prefill {b['batched_prefill_seqs']} x {b['ttft_len']} tokens in one step: "
                         f"{b['batched_prefill_tok_s']:.0f} tok/s")
        lines.append(f"  {'batch':>5} {'ctx':>5} {'step ms':>9} {'tok/s':>10} {'floor ms':>9} {'x floor':>8}")
        for p in b["decode"]:
            xf = p["step_ms"] / p["floor_ms"] if p["floor_ms"] else 0
            lines.append(f"  {p['batch']:>5} {p['context']:>5} {p['step_ms']:>9.3f} {p['tok_s']:>10.1f} "
                         f"{p['floor_ms']:>9.3f} {xf:>8.2f}")
        o = b.get("offline")
        if o:
            sampling = "greedy" if not o.get("temperature") else f"temperature {o['temperature']:g}, top_p {o.get('top_p', 1):g}"
            if o.get("logprobs", -1) >= 0:
                sampling += f", logprobs {o['logprobs']}"
            penalties = (o.get("repetition_penalty", 1), o.get("frequency_penalty", 0), o.get("presence_penalty", 0))
            if penalties != (1, 0, 0):
                sampling += ", penalties repetition {:g} frequency {:g} presence {:g}".format(*penalties)
            lines.append(f"  offline {o['num_prompts']} x {o['input_len']}/{o['output_len']} ({sampling}): {o['seconds']:.1f} s, "
                         f"{o['output_tok_s']:.0f} out tok/s, {o['total_tok_s']:.0f} total tok/s, errors {o['errors']}")
            if o.get("steps"):
                lines.append(f"    {o['steps']} engine steps, median {o['step_ms_median']:.2f} ms, p90 {o['step_ms_p90']:.2f} ms")
            if tag in ("1b", "1b-bf16act") and best_hf:
                lines.append(f"  vs transformers best mode {best_hf:.0f} out tok/s: {o['output_tok_s']/best_hf:.1f}x "
                             f"(target >= 5x)")
        for ph in b.get("op_timing", []):
            ops = sorted(ph["ms_per_step"].items(), key=lambda kv: -kv[1])
            total = sum(v for _, v in ops)
            top = ", ".join(f"{k} {v:.3f}" for k, v in ops if v > 0.005)
            lines.append(f"  ops {ph['phase']:<14} GPU {total:.3f} ms/step: {top}"[:200])
        if b["decode"] and b["decode"][0]["batch"] == 1 and b["decode"][0]["floor_ms"]:
            p = b["decode"][0]
            lines.append(f"  decode batch 1: {p['step_ms']/p['floor_ms']:.2f}x the bandwidth floor (target <= 1.3x)")
    for tag in ("greedy", "topp", "logprobs", "penalties"):
        o = load(os.path.join(d, f"overhead-{tag}.json"))
        if o:
            lines.append(f"  engine host cost ({tag}, null backend, {o['num_prompts']} x {o['input_len']}/{o['output_len']}): "
                         f"{o['host_ms_per_step']:.3f} ms/step mean, p90 {o['step_ms_p90']:.3f}; ceiling "
                         f"{o['output_tok_s']:.0f} out tok/s")
    if hf.get("modes"):
        lines.append("-" * 78)
        for m in hf["modes"]:
            if "error" in m:
                lines.append(f"  transformers {m['mode']}: {m['error'][:80]}")
            else:
                lines.append(f"  transformers {m['mode']}: {m['prompts']} prompts in {m['seconds']:.1f} s, "
                             f"{m['output_tok_s']:.0f} out tok/s")
    lc = hf.get("logits_check")
    if lc:
        if "error" in lc:
            lines.append(f"  transformers logits oracle: ERROR {lc['error'][:80]}")
        else:
            lines.append(f"  transformers logits oracle (mid fixture, fp32): rel_err {lc['rel_err']:.2e}, argmax "
                         f"{lc['argmax_agree']}/{lc['positions']} -> {'ok' if lc['ok'] else 'FAIL'}")
    lines.append("=" * 78)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
