// The Engine: a request inbox guarded by a short-held mutex, and one engine thread that drains it, steps
// the scheduler, runs the backend, samples, and hands each step's events to the EventSink in one
// batch. Errors of a forward pass finish the affected requests with reason Error; nothing here
// aborts the process.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/block_manager.h"
#include "core/model_runner.h"
#include "core/scheduler.h"
#include "model/token_bytes.h"
#include "runtime/engine_impl.h"
#include "runtime/sampling_pool.h"
#include "runtime/seed_source.h"
#include "sampling/choice_recognizer.h"
#include "sampling/json_recognizer.h"
#include "sampling/json_schema.h"
#include "sampling/row_edits.h"
#include "sampling/sampler.h"

namespace llm {

double now_ms() {
  using namespace std::chrono;
  return static_cast<double>(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()) / 1000.0;
}

namespace {

struct Sizing {
  int num_blocks = 0;
  int max_model_len = 0;
};

Sizing size_kv_cache(const EngineOptions& o, const ModelConfig& c, Backend& backend, const LogSink& log) {
  auto bad = [](const std::string& m) { throw Error("invalid engine option: " + m); };
  if (o.max_num_seqs <= 0) bad("maxNumSeqs must be > 0");
  if (o.max_num_batched_tokens <= 0) bad("maxNumBatchedTokens must be > 0");
  if (o.block_size <= 0 || o.block_size > 1024 || (o.block_size & (o.block_size - 1)) != 0)
    bad("blockSize must be a power of two between 1 and 1024");
  if (o.kv_cache_bytes < 0) bad("kvCacheBytes must be >= 0");
  if (!(o.kv_cache_fraction > 0.0 && o.kv_cache_fraction <= 1.0)) bad("kvCacheFraction must be in (0, 1]");
  if (o.threads < 0) bad("threads must be >= 0");
  if (o.sampling_threads < -1) bad("samplingThreads must be >= -1 (-1: automatic)");
  if (o.max_model_len < 0) bad("maxModelLen must be >= 0");
  if (o.speculative_tokens < 0 || o.speculative_tokens > 64) bad("speculativeTokens must be between 0 and 64");
  if (c.vocab_size <= 0) throw Error("model has no vocabulary");
  int max_len = o.max_model_len > 0 ? o.max_model_len : c.max_position_embeddings;
  if (max_len <= 0) bad("maxModelLen is 0 and the model gives no max_position_embeddings");
  if (c.max_position_embeddings > 0 && max_len > c.max_position_embeddings)
    bad("maxModelLen " + std::to_string(max_len) + " exceeds the model's max_position_embeddings " +
        std::to_string(c.max_position_embeddings));

  const size_t block_bytes = backend.kv_block_bytes(o.block_size);
  if (block_bytes == 0) throw Error("backend reports 0 bytes per KV block");
  const size_t bytes = o.kv_cache_bytes > 0 ? static_cast<size_t>(o.kv_cache_bytes)
                                            : backend.available_kv_bytes(o.kv_cache_fraction);
  const int64_t blocks_per_seq = (max_len + o.block_size - 1) / o.block_size;
  const int64_t cap = std::min<int64_t>(int64_t{o.max_num_seqs} * blocks_per_seq, 1 << 24);
  const int64_t num_blocks = std::min<int64_t>(static_cast<int64_t>(bytes / block_bytes), cap);
  if (num_blocks < 1)
    throw Error("KV cache too small: " + std::to_string(bytes) + " bytes, one block of " +
                std::to_string(o.block_size) + " tokens needs " + std::to_string(block_bytes));
  Sizing s;
  s.num_blocks = static_cast<int>(num_blocks);
  s.max_model_len = max_len;
  if (num_blocks * o.block_size < max_len) {
    s.max_model_len = static_cast<int>(num_blocks * o.block_size);
    if (log)
      log("KV cache holds only " + std::to_string(s.max_model_len) + " tokens; maxModelLen lowered from " +
          std::to_string(max_len));
  }
  if (log)
    log("KV cache: " + std::to_string(num_blocks) + " blocks of " + std::to_string(o.block_size) +
        " tokens (" + std::to_string((num_blocks * block_bytes) >> 20) + " MiB), maxModelLen " +
        std::to_string(s.max_model_len));
  return s;
}

class EngineImpl final : public Engine {
 public:
  EngineImpl(std::shared_ptr<const Model> model, std::unique_ptr<Backend> backend,
             const EngineOptions& options, EventSink events, LogSink log, const Sizing& sizing)
      : model_(std::move(model)),
        backend_(std::move(backend)),
        options_(options),
        events_(std::move(events)),
        log_(std::move(log)),
        max_model_len_(sizing.max_model_len),
        vocab_(model_->config().vocab_size),
        blocks_(sizing.num_blocks, options.block_size, options.enable_prefix_caching),
        sched_(scheduler_config(options, *backend_, sizing.max_model_len), blocks_),
        sampling_(vocab_, options.sampling_threads < 0 ? default_sampling_threads() : options.sampling_threads,
                  kMinParallelSamplingElements),
        row_edits_(vocab_) {
    backend_->init_kv_cache(sizing.num_blocks, options.block_size);
    const ModelConfig& c = model_->config();
    info_.path = model_->path();
    info_.backend = backend_->name();
    info_.quantization = options.quantization;
    info_.vocab_size = c.vocab_size;
    info_.max_model_len = max_model_len_;
    info_.bos_token_id = c.bos_token_id;
    info_.eos_token_ids = c.eos_token_ids;
    info_.hidden_size = c.hidden_size;
    info_.num_layers = c.num_layers;
    info_.embeddings = backend_->supports_hidden_rows();
    snapshot_.kv_blocks_total = sizing.num_blocks;
    if (log_ && options.speculative_tokens > 0)
      log_(backend_->samples_on_device()
               ? "speculative decoding off: the " + backend_->name() + " backend samples on the device"
               : "speculative decoding: up to " + std::to_string(options.speculative_tokens) +
                     " n-gram draft tokens per sequence and step");
    trie_ = std::async(std::launch::async, [path = model_->path(), vocab = vocab_] {
              return std::make_shared<const TokenTrie>(load_token_bytes(path + "/tokenizer.json", vocab));
            }).share();
    thread_ = std::thread([this] { loop(); });
  }

  ~EngineImpl() override { close(); }

  void add(RequestSpec r) override {
    if (r.id.empty()) throw Error("request id must be a non-empty string");
    if (r.prompt_tokens.empty()) throw Error("request '" + r.id + "': prompt is empty");
    if (static_cast<int64_t>(r.prompt_tokens.size()) >= max_model_len_)
      throw Error("request '" + r.id + "': prompt has " + std::to_string(r.prompt_tokens.size()) +
                  " tokens, it must be shorter than maxModelLen " + std::to_string(max_model_len_));
    for (size_t i = 0; i < r.prompt_tokens.size(); ++i) {
      const int32_t t = r.prompt_tokens[i];
      if (t < 0 || t >= vocab_)
        throw Error("request '" + r.id + "': prompt token " + std::to_string(t) + " at index " +
                    std::to_string(i) + " is outside the vocabulary (size " + std::to_string(vocab_) + ")");
    }
    try {
      validate_sampling(r.sampling, vocab_);
    } catch (const Error& e) {
      throw Error("request '" + r.id + "': " + e.what());
    }
    if (r.embed && !info_.embeddings)
      throw Error("request '" + r.id + "': embeddings are not supported by the " + info_.backend + " backend");
    if (r.embed && r.sampling.prompt_logprobs >= 0)
      throw Error("request '" + r.id + "': an embed request must not ask for prompt logprobs");
    auto seq = std::make_unique<Sequence>();
    seq->embed = r.embed;
    seq->constraint = make_constraint(r.id, r.sampling);
    seq->id = r.id;
    seq->priority = r.priority;
    seq->cache_salt = std::move(r.cache_salt);
    seq->num_prompt_tokens = static_cast<int>(r.prompt_tokens.size());
    seq->tokens = std::move(r.prompt_tokens);
    seq->rng.reseed(r.sampling.seed ? *r.sampling.seed : next_request_seed());
    seq->sampling = std::move(r.sampling);
    seq->timings.queued_ms = now_ms();
    bool wake = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (closed_) throw Error("engine is closed");
      if (live_ids_.count(seq->id)) throw Error("duplicate request id '" + seq->id + "'");
      seq->arrival = next_arrival_++;
      live_ids_.insert(seq->id);
      inbox_.push_back(std::move(seq));
      wake = loop_idle_;
    }
    if (wake) cv_.notify_one();
  }

  void abort(const std::string& id) override {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (closed_ || !live_ids_.count(id)) return;
      aborts_.push_back(id);
      wake = loop_idle_;
    }
    if (wake) cv_.notify_one();
  }

  EngineStats stats() const override {
    EngineStats s;
    {
      std::lock_guard<std::mutex> lk(stats_mu_);
      s = snapshot_;
    }
    std::lock_guard<std::mutex> lk(mu_);
    s.waiting += static_cast<int>(inbox_.size());
    return s;
  }

  std::vector<StepSample> drain_steps() override {
    std::vector<StepSample> out;
    std::lock_guard<std::mutex> lk(stats_mu_);
    out.swap(pending_steps_);
    return out;
  }

  ModelInfo info() const override { return info_; }

  void close() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      closed_ = true;
      stop_ = true;
    }
    cv_.notify_one();
    std::lock_guard<std::mutex> join_lk(join_mu_);
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
  }

 private:
  using Events = std::vector<RequestEvent>;

  RequestEvent& event_for(Events& events, const std::string& id) {
    auto it = event_index_.find(id);
    if (it != event_index_.end()) return events[it->second];
    event_index_[id] = events.size();
    events.emplace_back();
    events.back().id = id;
    return events.back();
  }

  void finish(Sequence* seq, FinishReason reason, Events& events, const std::string& error = {}) {
    RequestEvent& ev = event_for(events, seq->id);
    seq->status = SeqStatus::Finished;
    seq->finish_reason = reason;
    seq->timings.finished_ms = now_ms();
    ev.finished = true;
    ev.reason = reason;
    ev.error = error;
    ev.prompt_tokens = seq->num_prompt_tokens;
    ev.cached_prompt_tokens = seq->num_cached_prompt_tokens;
    ev.generated_tokens = seq->num_output_tokens();
    ev.timings = seq->timings;
    const std::string id = seq->id;
    sched_.remove(seq);  // frees its blocks; seq is gone after this
    std::lock_guard<std::mutex> lk(mu_);
    live_ids_.erase(id);
  }

  void emit(Events& events) {
    event_index_.clear();
    if (events.empty()) return;
    try {
      events_(std::move(events));
    } catch (const std::exception& e) {
      if (log_) log_(std::string("event sink threw: ") + e.what());
    } catch (...) {
      if (log_) log_("event sink threw");
    }
    events.clear();
  }

  void loop() {
    while (true) {
      std::deque<std::unique_ptr<Sequence>> incoming;
      std::vector<std::string> aborts;
      bool stopping;
      {
        std::unique_lock<std::mutex> lk(mu_);
        loop_idle_ = true;
        cv_.wait(lk, [&] { return stop_ || !inbox_.empty() || !aborts_.empty() || sched_.has_work(); });
        loop_idle_ = false;
        incoming.swap(inbox_);
        aborts.swap(aborts_);
        stopping = stop_;
      }
      Events events;
      for (auto& seq : incoming) {
        Sequence* s = sched_.add(std::move(seq));
        // max_tokens 0: nothing to do, unless the prompt is to be scored (then it finishes after
        // its prefill).
        if (s->sampling.max_tokens == 0 && s->sampling.prompt_logprobs < 0 && !s->embed)
          finish(s, FinishReason::Length, events);
      }
      for (const std::string& id : aborts)
        if (Sequence* s = sched_.find(id)) finish(s, FinishReason::Abort, events);
      if (stopping) {
        std::vector<Sequence*> all(sched_.running());
        all.insert(all.end(), sched_.waiting().begin(), sched_.waiting().end());
        std::sort(all.begin(), all.end(), runs_before);
        for (Sequence* s : all) finish(s, FinishReason::Abort, events);
        publish_stats();
        emit(events);
        break;
      }
      if (sched_.has_work()) step(events);
      publish_stats();
      emit(events);
    }
    backend_.reset();  // frees the KV cache and weights' copies
  }

  void step(Events& events) {
    const auto t0 = std::chrono::steady_clock::now();
    SchedulerOutput out = sched_.schedule();
    if (out.empty()) {
      // Nothing can run although requests wait: the first one can never fit. Fail it rather
      // than spin (cannot happen while maxModelLen fits the cache, kept as a safety net).
      if (!sched_.waiting().empty() && sched_.running().empty()) {
        std::vector<Sequence*> w(sched_.waiting());
        std::sort(w.begin(), w.end(), runs_before);
        finish(w.front(), FinishReason::Error, events, "request does not fit in the KV cache");
      }
      return;
    }
    const int64_t prompt_tokens = count_prompt_tokens(out);
    bool ok = true;
    StepBatch sb;
    StepLogits result;
    try {
      sb = build_step_batch(out, blocks_.block_size());
      if (backend_->samples_on_device()) {
        for (Sequence* seq : sb.samplers) {
          RowSampling rs = plan_row_sampling(seq->sampling, vocab_, seq->rng);
          if (rs.sampled()) row_edits_.append(sample_context(seq), &rs, &sb.batch.row_edits);
          sb.batch.row_sampling.push_back(rs);
        }
        sb.batch.row_sampling.resize(sb.batch.logits_indices.size(), RowSampling{RowSampling::Host});
      }
      result = backend_->forward_step(sb.batch, vocab_);
      check_step_result(sb.batch, result);
    } catch (const std::exception& e) {
      ok = false;
      const std::string msg = std::string("forward pass failed: ") + e.what();
      if (log_) log_(msg);
      std::vector<Sequence*> victims;
      for (const ScheduledSeq& s : out.scheduled) victims.push_back(s.seq);
      for (Sequence* s : victims) finish(s, FinishReason::Error, events, msg);
    }
    int64_t generated = 0;
    if (ok) {
      // Draft tokens come off the sequences (and off the computed counts) until verified.
      for (ScheduledSeq& s : out.scheduled) {
        if (s.seq->draft.empty()) continue;
        s.num_tokens -= static_cast<int>(s.seq->draft.size());
        spec_draft_tokens_ += static_cast<int64_t>(s.seq->draft.size());
      }
      sched_.on_computed(out);
      score_prompts(sb, result.logits, events);
      const double t = now_ms();
      for (const ScheduledSeq& s : out.scheduled)
        if (s.seq->timings.scheduled_ms == 0) s.seq->timings.scheduled_ms = t;
      // Embed requests end here (after the last use of out.scheduled: finish() frees a sequence).
      for (size_t j = 0; j < sb.embedders.size(); ++j) {
        const float* row = result.hidden + j * static_cast<size_t>(info_.hidden_size);
        event_for(events, sb.embedders[j]->id).embedding.assign(row, row + info_.hidden_size);
        finish(sb.embedders[j], FinishReason::Stop, events);
      }
      // The first row of each sequence (the backend's, or sampled on the host, spread over
      // threads when wide); then each sequence's rows in order, drafts verified one by one.
      auto on_device = [&](size_t i) { return result.tokens && sb.batch.row_sampling[i].sampled(); };
      auto first_row = [&](size_t i) { return i == 0 || sb.samplers[i] != sb.samplers[i - 1]; };
      host_jobs_.clear();
      for (size_t i = 0; i < sb.samplers.size(); ++i)
        if (first_row(i) && !on_device(i)) host_jobs_.push_back(host_job(sb.samplers[i], result.logits + i * vocab_));
      sampling_.run(host_jobs_);
      size_t next = 0;
      for (size_t i = 0; i < sb.samplers.size();) {
        Sequence* seq = sb.samplers[i];
        size_t end = i + 1;
        while (end < sb.samplers.size() && sb.samplers[end] == seq) ++end;
        std::vector<int32_t> draft;
        draft.swap(seq->draft);
        seq->tokens.resize(seq->tokens.size() - draft.size());
        int32_t token;
        TokenLogprob* lp = nullptr;
        TokenLogprob device_lp;
        if (on_device(i)) {
          token = result.tokens[i];
          if (sb.batch.row_sampling[i].scored()) {
            to_token_logprob(result.logprobs[i], token, &device_lp);
            lp = &device_lp;
          }
        } else {
          SamplingPool::Job& job = host_jobs_[next++];
          token = job.token;
          if (seq->sampling.logprobs >= 0) lp = &job.logprob;
        }
        if (seq->sampling.max_tokens == 0) {  // it only scored its prompt
          finish(seq, FinishReason::Length, events);
          i = end;
          continue;
        }
        const float* draft_logits = draft.empty() ? nullptr : result.logits + (i + 1) * vocab_;
        generated += verify_and_append(seq, token, lp, draft, draft_logits, events);
        i = end;
      }
      generation_tokens_ += generated;
    }
    ++steps_;
    prompt_tokens_ += prompt_tokens;
    last_step_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const int64_t step_tokens = prompt_tokens + generated;
    std::lock_guard<std::mutex> lk(stats_mu_);
    if (pending_steps_.size() < kMaxPendingSteps)
      pending_steps_.push_back(StepSample{last_step_ms_, static_cast<int32_t>(step_tokens)});
  }

  // A backend that samples rows must send back their tokens, and the logprobs of the rows that
  // ask for them; a step without them fails its requests rather than drop what they asked for.
  static void check_step_result(const ForwardBatch& b, const StepLogits& r) {
    const auto& rows = b.row_sampling;
    const bool sampled = std::any_of(rows.begin(), rows.end(), [](const RowSampling& rs) { return rs.sampled(); });
    const bool scored = std::any_of(rows.begin(), rows.end(), [](const RowSampling& rs) { return rs.scored(); });
    if (sampled && !r.tokens) throw Error("backend returned no tokens for the rows it samples");
    if (scored && !r.logprobs) throw Error("backend returned no logprobs for the rows it samples with logprobs");
  }

  static int64_t count_prompt_tokens(const SchedulerOutput& out) {
    int64_t n = 0;
    for (const ScheduledSeq& s : out.scheduled) {
      const int begin = s.seq->num_computed_tokens;
      const int end = std::min(begin + s.num_tokens, s.seq->num_prompt_tokens);
      n += std::max(0, end - begin);
    }
    return n;
  }

  SampleContext sample_context(Sequence* seq) const {
    SampleContext ctx;
    ctx.params = &seq->sampling;
    ctx.tokens = seq->tokens.data();
    ctx.num_tokens = seq->num_tokens();
    ctx.num_prompt_tokens = seq->num_prompt_tokens;
    ctx.eos_token_ids = &info_.eos_token_ids;
    ctx.rng = &seq->rng;
    ctx.constraint = seq->constraint.get();
    return ctx;
  }

  SamplingPool::Job host_job(Sequence* seq, const float* logits) const {
    SamplingPool::Job job;
    job.logits = logits;
    job.ctx = sample_context(seq);
    return job;
  }

  // prompt_logprobs: the rows after the sampling rows score the prompt tokens that follow them.
  void score_prompts(const StepBatch& sb, const float* logits, Events& events) {
    const size_t first = sb.samplers.size();
    for (size_t j = 0; j < sb.prompt_rows.size(); ++j) {
      const PromptRow& r = sb.prompt_rows[j];
      TokenLogprob lp;
      token_logprob(logits + (first + j) * vocab_, vocab_, r.seq->tokens[r.position], r.seq->sampling.prompt_logprobs,
                    &lp);
      event_for(events, r.seq->id).prompt_logprobs.push_back(std::move(lp));
      r.seq->prompt_scored = r.position + 1;
    }
  }

  // Appends the sampled `token`; while it equals the next draft token (whose K/V this step
  // computed, and whose logits row follows at `draft_logits`), that draft token is accepted and
  // the next row sampled, exactly as plain decoding would have sampled it (same logits, bit for
  // bit, and the same sampling state). Returns the tokens appended.
  int64_t verify_and_append(Sequence* seq, int32_t token, TokenLogprob* lp, const std::vector<int32_t>& draft,
                            const float* draft_logits, Events& events) {
    if (!draft.empty()) {
      seq->spec_drafted += static_cast<int>(draft.size());
      if (seq->spec_drafted > 128) {
        seq->spec_drafted /= 2;
        seq->spec_accepted /= 2;
      }
    }
    int64_t appended = 0;
    for (size_t j = 0;; ++j) {
      if (token == kNoAllowedToken) {
        finish(seq, FinishReason::Error, events,
               "constrained decoding: no token of the vocabulary can continue the output validly");
        return appended;
      }
      ++appended;
      if (!append_token(seq, token, lp, events) || j >= draft.size() || token != draft[j]) return appended;
      ++spec_accepted_tokens_;
      ++seq->spec_accepted;
      ++seq->num_computed_tokens;  // the accepted draft token's K/V are in the cache
      sched_.blocks().cache_full_blocks(*seq);
      spec_job_.clear();
      spec_job_.push_back(host_job(seq, draft_logits + j * vocab_));
      sampling_.run(spec_job_);
      token = spec_job_[0].token;
      lp = seq->sampling.logprobs >= 0 ? &spec_job_[0].logprob : nullptr;
    }
  }

  // Returns false when the token finished the sequence (which is then gone).
  bool append_token(Sequence* seq, int32_t token, TokenLogprob* lp, Events& events) {
    seq->tokens.push_back(token);
    if (seq->constraint) seq->constraint->accept(token);
    if (seq->timings.first_token_ms == 0) seq->timings.first_token_ms = now_ms();
    RequestEvent& ev = event_for(events, seq->id);
    ev.new_tokens.push_back(token);
    if (lp) ev.logprobs.push_back(std::move(*lp));
    const FinishReason reason = stop_reason(seq->sampling, token, seq->num_output_tokens(), seq->num_tokens(),
                                            max_model_len_, info_.eos_token_ids);
    if (reason == FinishReason::None) return true;
    finish(seq, reason, events);
    return false;
  }

  // The vocabulary's bytes for constrained decoding (loading started with the engine).
  std::shared_ptr<const TokenTrie> token_trie(const std::string& request_id, const char* format) const {
    try {
      return trie_.get();
    } catch (const std::exception& e) {
      throw Error("request '" + request_id + "': response format " + format + " needs the model's tokenizer: " + e.what());
    }
  }

  // make()'s result; its llm::Error prefixed with the request id.
  template <class Make>
  static auto naming_request(const std::string& id, Make&& make) {
    try {
      return make();
    } catch (const Error& e) {
      throw Error("request '" + id + "': " + e.what());
    }
  }

  // The sequence's grammar for its response format (null for plain text). Throws llm::Error on a
  // schema outside the supported subset.
  std::unique_ptr<TokenConstraint> make_constraint(const std::string& id, const SamplingParams& p) const {
    switch (p.format) {
      case OutputFormat::Text:
        return nullptr;
      case OutputFormat::JsonObject:
        return std::make_unique<GrammarConstraint<JsonRecognizer>>(token_trie(id, "json_object"), JsonRecognizer());
      case OutputFormat::JsonSchema: {
        auto schema = naming_request(id, [&] { return JsonSchema::compile_cached(p.json_schema); });
        return std::make_unique<GrammarConstraint<JsonSchemaRecognizer>>(
            token_trie(id, "json_schema"), JsonSchemaRecognizer(schema.get()), schema);
      }
      case OutputFormat::Choice: {
        auto set = naming_request(id, [&] { return ChoiceSet::make(p.choices); });
        return std::make_unique<GrammarConstraint<ChoiceRecognizer>>(token_trie(id, "guided_choice"),
                                                                    ChoiceRecognizer(set.get()), set);
      }
    }
    return nullptr;
  }

  static SchedulerConfig scheduler_config(const EngineOptions& o, const Backend& backend, int max_model_len) {
    SchedulerConfig c;
    c.max_num_seqs = o.max_num_seqs;
    c.max_num_batched_tokens = o.max_num_batched_tokens;
    c.chunked_prefill = true;
    c.speculative_tokens = backend.samples_on_device() ? 0 : o.speculative_tokens;
    c.max_model_len = max_model_len;
    return c;
  }

  void publish_stats() {
    std::lock_guard<std::mutex> lk(stats_mu_);
    snapshot_.running = sched_.num_running();
    snapshot_.waiting = sched_.num_waiting();
    snapshot_.kv_blocks_used = blocks_.num_used_blocks();
    snapshot_.kv_blocks_total = blocks_.num_blocks();
    snapshot_.prefix_cache_queries = blocks_.prefix_queries();
    snapshot_.prefix_cache_hits = blocks_.prefix_hits();
    snapshot_.preemptions = sched_.num_preemptions();
    snapshot_.steps = steps_;
    snapshot_.prompt_tokens = prompt_tokens_;
    snapshot_.generation_tokens = generation_tokens_;
    snapshot_.spec_draft_tokens = spec_draft_tokens_;
    snapshot_.spec_accepted_tokens = spec_accepted_tokens_;
    snapshot_.last_step_ms = last_step_ms_;
  }

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Backend> backend_;
  EngineOptions options_;
  EventSink events_;
  LogSink log_;
  int max_model_len_;
  int vocab_;
  ModelInfo info_;

  // Engine-thread state.
  BlockManager blocks_;
  Scheduler sched_;
  // A step's host rows are split over threads from this much work (rows x vocabulary) on:
  // 4 rows of Llama 3's vocabulary, a few hundred microseconds; smaller ones cost less than a wake-up.
  static constexpr size_t kMinParallelSamplingElements = size_t{1} << 19;
  SamplingPool sampling_;
  std::vector<SamplingPool::Job> host_jobs_, spec_job_;
  RowEditPlanner row_edits_;  // penalties, bias and masks of the rows a backend samples
  std::unordered_map<std::string, size_t> event_index_;
  int64_t steps_ = 0, prompt_tokens_ = 0, generation_tokens_ = 0;
  int64_t spec_draft_tokens_ = 0, spec_accepted_tokens_ = 0;
  double last_step_ms_ = 0;

  // Shared with callers.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Sequence>> inbox_;
  std::vector<std::string> aborts_;
  std::unordered_set<std::string> live_ids_;
  uint64_t next_arrival_ = 0;
  // True while the loop waits on cv_: add() and abort() signal only then (a busy loop re-checks
  // the inbox under mu_ before it waits), so callers do not pay a futex wake per request.
  bool loop_idle_ = false;
  bool stop_ = false;
  bool closed_ = false;
  // Read from tokenizer.json on a thread of its own while the engine starts (~0.2 s for Llama 3's
  // vocabulary), so neither startup nor the first json_object request waits for it; it holds the
  // error instead when the file is missing or unreadable. add() is its only reader.
  std::shared_future<std::shared_ptr<const TokenTrie>> trie_;
  mutable std::mutex stats_mu_;
  EngineStats snapshot_;
  std::vector<StepSample> pending_steps_;  // under stats_mu_
  std::mutex join_mu_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<Engine> create_engine(std::shared_ptr<const Model> model, std::unique_ptr<Backend> backend,
                                      const EngineOptions& options, EventSink events, LogSink log) {
  if (!model) throw Error("create_engine: no model");
  if (!backend) throw Error("create_engine: no backend");
  if (!events) throw Error("create_engine: no event sink");
  const Sizing sizing = size_kv_cache(options, model->config(), *backend, log);
  return std::make_unique<EngineImpl>(std::move(model), std::move(backend), options, std::move(events),
                                      std::move(log), sizing);
}

}  // namespace llm
