#!/usr/bin/env python3
"""The Hugging Face transformers peer for engine-bench, on the same GPU and the same weights.

  hf_peer.py --model DIR [--num-prompts 1000 --input-len 512 --output-len 128 --batch-size 128
             --time-budget 60] [--logits DUMP --logits-model DIR] --output hf.json

Throughput: `generate` over static batches of random prompts (greedy, min_new_tokens = max_new_tokens,
i.e. ignore_eos), and `generate_batch` (continuous batching) when the installed version has it;
each mode stops starting new batches once its time budget is spent and reports what it finished.
Logits oracle: recomputes in float32 the logits that `engine-bench --dump-logits DUMP` wrote and
reports the relative error and argmax agreement.
"""
import argparse
import json
import os
import sys
import time
import traceback


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def load_model(path, dtype):
    import torch
    from transformers import AutoModelForCausalLM
    try:
        m = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    except TypeError:
        m = AutoModelForCausalLM.from_pretrained(path, torch_dtype=dtype)
    return m.to("cuda").eval()


def static_generate(model, args, budget):
    import torch
    g = torch.Generator().manual_seed(0)
    done_tokens = done_prompts = 0
    # Warm-up.
    model.generate(torch.randint(0, 120000, (2, 16), generator=g).cuda(), max_new_tokens=4, min_new_tokens=4,
                   do_sample=False, pad_token_id=0)
    torch.cuda.synchronize()
    t0 = time.time()
    while done_prompts < args.num_prompts and time.time() - t0 < budget:
        b = min(args.batch_size, args.num_prompts - done_prompts)
        ids = torch.randint(0, 120000, (b, args.input_len), generator=g).cuda()
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=args.output_len,
                             min_new_tokens=args.output_len, do_sample=False, pad_token_id=0)
        torch.cuda.synchronize()
        done_tokens += (out.shape[1] - args.input_len) * b
        done_prompts += b
    dt = time.time() - t0
    return {"mode": f"generate (static batch {args.batch_size})", "prompts": done_prompts,
            "seconds": dt, "output_tok_s": done_tokens / dt, "total_tok_s": (done_tokens + done_prompts * args.input_len) / dt}


def continuous_generate(model, args, budget):
    import torch
    from transformers import GenerationConfig
    if not hasattr(model, "generate_batch"):
        return {"mode": "generate_batch", "error": "not available in this transformers version"}
    g = torch.Generator().manual_seed(1)
    n = max(1, min(args.num_prompts, args.cb_prompts))
    inputs = [torch.randint(0, 120000, (args.input_len,), generator=g).tolist() for _ in range(n)]
    cfg = GenerationConfig(max_new_tokens=args.output_len, min_new_tokens=args.output_len, do_sample=False,
                           pad_token_id=0, max_batch_tokens=4096, num_blocks=4096, block_size=128)
    model.generate_batch(inputs=inputs[:2], generation_config=cfg)  # warm-up
    torch.cuda.synchronize()
    t0 = time.time()
    res = model.generate_batch(inputs=inputs, generation_config=cfg)
    torch.cuda.synchronize()
    dt = time.time() - t0
    toks = 0
    for r in (res.values() if isinstance(res, dict) else res):
        gen = getattr(r, "generated_tokens", None)
        toks += len(gen) if gen is not None else args.output_len
    return {"mode": "generate_batch (continuous)", "prompts": n, "seconds": dt, "output_tok_s": toks / dt,
            "total_tok_s": (toks + n * args.input_len) / dt}


def logits_check(dump, model_dir):
    import numpy as np
    import torch
    meta = json.load(open(dump + ".json"))
    tokens, vocab = meta["tokens"], meta["vocab"]
    ours = np.fromfile(dump, dtype=np.float32).reshape(len(tokens), vocab).astype(np.float64)
    model = load_model(model_dir, torch.float32)
    with torch.no_grad():
        ref = model(torch.tensor([tokens]).cuda()).logits[0].double().cpu().numpy()
    del model
    err = float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))
    agree = int((ours.argmax(-1) == ref.argmax(-1)).sum())
    return {"model": model_dir, "positions": len(tokens), "rel_err": err, "argmax_agree": agree,
            "ok": bool(err < 1e-2 and agree >= len(tokens) - 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--num-prompts", type=int, default=1000)
    ap.add_argument("--input-len", type=int, default=512)
    ap.add_argument("--output-len", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--cb-prompts", type=int, default=128, help="prompts for generate_batch")
    ap.add_argument("--time-budget", type=float, default=60.0, help="seconds per throughput mode")
    ap.add_argument("--logits", help="engine-bench --dump-logits file")
    ap.add_argument("--logits-model", help="model dir for the logits check")
    ap.add_argument("--output")
    args = ap.parse_args()
    import torch
    import transformers
    result = {"transformers": transformers.__version__, "torch": torch.__version__,
              "device": torch.cuda.get_device_name(0), "modes": []}
    if args.logits:
        try:
            result["logits_check"] = logits_check(args.logits, args.logits_model)
            log("logits check:", result["logits_check"])
        except Exception as e:  # report, go on
            traceback.print_exc()
            result["logits_check"] = {"error": repr(e)[:300], "ok": False}
    if args.model:
        model = load_model(args.model, torch.bfloat16)
        for fn in (static_generate, continuous_generate):
            try:
                r = fn(model, args, args.time_budget)
            except Exception as e:
                traceback.print_exc()
                r = {"mode": fn.__name__, "error": repr(e)[:300]}
            log("hf:", r)
            result["modes"].append(r)
        ok = [m["output_tok_s"] for m in result["modes"] if "output_tok_s" in m]
        result["best_output_tok_s"] = max(ok) if ok else 0
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
