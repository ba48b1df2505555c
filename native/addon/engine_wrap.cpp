#include "engine_wrap.h"

#include <cstdio>

#include "convert.h"

namespace addon {

namespace {

llm::LogSink engine_log_sink() {
  return [](const std::string& line) { std::fprintf(stderr, "[llm-engine] %s\n", line.c_str()); };
}

}  // namespace

// Builds a deferred engine off the JS thread; the wrap gets it (or the error) back on the JS thread.
class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, EngineWrap* wrap, Napi::Object self)
      : Napi::AsyncWorker(env, "llm-engine-load"),
        deferred_(Napi::Promise::Deferred::New(env)),
        wrap_(wrap),
        options_(std::move(wrap->pending_options_)),
        sink_(std::move(wrap->pending_sink_)) {
    self_ = Napi::Persistent(self);  // the wrap outlives the load
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      engine_ = llm::Engine::create(*options_, std::move(sink_), engine_log_sink());
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    wrap_->loading_ = false;
    if (engine_ && wrap_->released_) {
      engine_->close();  // closed while loading
      error_ = "engine was closed while loading";
      engine_.reset();
    }
    if (!engine_) {
      if (!wrap_->released_) {
        wrap_->released_ = true;
        wrap_->tsfn_.Release();
      }
      deferred_.Reject(Napi::Error::New(env, error_).Value());
      return;
    }
    wrap_->engine_ = std::move(engine_);
    deferred_.Resolve(env.Undefined());
  }

 private:
  Napi::Promise::Deferred deferred_;
  EngineWrap* wrap_;
  Napi::ObjectReference self_;
  std::unique_ptr<llm::EngineOptions> options_;
  llm::EventSink sink_;
  std::unique_ptr<llm::Engine> engine_;
  std::string error_;
};

Napi::Function EngineWrap::Init(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {InstanceMethod("add", &EngineWrap::Add), InstanceMethod("abort", &EngineWrap::Abort),
                      InstanceMethod("stats", &EngineWrap::Stats), InstanceMethod("drainSteps", &EngineWrap::DrainSteps),
                      InstanceMethod("info", &EngineWrap::Info),
                      InstanceMethod("close", &EngineWrap::Close), InstanceMethod("load", &EngineWrap::Load)});
}

EngineWrap::EngineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineWrap>(info) {
  Napi::Env env = info.Env();
  if (!info.IsConstructCall()) throw Napi::TypeError::New(env, "Engine must be called with new");
  if (info.Length() < 2 || !info[1].IsFunction())
    throw Napi::TypeError::New(env, "new Engine(options, onEvents): onEvents must be a function");
  llm::EngineOptions options = engine_options_from_js(info[0]);

  tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "llm-engine-events", 0, 1);
  released_ = false;
  tsfn_.Unref(env);
  Napi::ThreadSafeFunction tsfn = tsfn_;
  llm::EventSink sink = [this, tsfn](std::vector<llm::RequestEvent>&& events) mutable {
    auto* data = new std::vector<llm::RequestEvent>(std::move(events));
    napi_status st = tsfn.NonBlockingCall(data, [this](Napi::Env env, Napi::Function cb, std::vector<llm::RequestEvent>* d) {
      deliver(env, cb, d);
    });
    if (st != napi_ok) delete data;  // the JS side is gone (closing)
  };
  if (info.Length() > 2 && info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value()) {
    pending_options_ = std::make_unique<llm::EngineOptions>(std::move(options));
    pending_sink_ = std::move(sink);
    return;
  }
  try {
    engine_ = llm::Engine::create(options, std::move(sink), engine_log_sink());
  } catch (const std::exception& e) {
    tsfn_.Release();
    released_ = true;
    throw_engine_error(env, e);
  }
}

EngineWrap::~EngineWrap() { shutdown(); }

const char* EngineWrap::missing_engine() const {
  return !released_ && (loading_ || pending_options_) ? "engine is loading" : "engine is closed";
}

Napi::Value EngineWrap::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!pending_options_ || released_)
    throw Napi::Error::New(env, "load(): only an engine constructed with deferLoad, once, before close()");
  loading_ = true;
  auto* worker = new LoadWorker(env, this, info.This().As<Napi::Object>());
  Napi::Promise promise = worker->promise();
  worker->Queue();  // the worker deletes itself after OnOK
  return promise;
}

void EngineWrap::shutdown() {
  if (engine_) engine_->close();  // joins the engine thread: no more sink calls after this
  if (!released_) {
    released_ = true;
    tsfn_.Release();  // queued event batches are still delivered
  }
}

void EngineWrap::deliver(Napi::Env env, Napi::Function callback, std::vector<llm::RequestEvent>* data) {
  std::unique_ptr<std::vector<llm::RequestEvent>> events(data);
  if (!env || !callback) return;  // environment tearing down
  for (const auto& e : *events)
    if (e.finished) in_flight_.erase(e.id);
  if (in_flight_.empty() && referenced_ && !released_) {
    tsfn_.Unref(env);
    referenced_ = false;
  }
  Napi::Array arr = events_to_js(env, *events);
  try {
    callback.Call({arr});
  } catch (const Napi::Error& err) {
    // An exception in the user's callback must not take the engine down; report it as Node would.
    napi_fatal_exception(env, err.Value());
  }
}

Napi::Value EngineWrap::Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!engine_ || released_) throw Napi::Error::New(env, missing_engine());
  if (info.Length() < 1) throw Napi::TypeError::New(env, "add(request): request is required");
  llm::RequestSpec spec = request_from_js(info[0]);
  const std::string id = spec.id;
  try {
    engine_->add(std::move(spec));
  } catch (const std::exception& e) {
    throw_engine_error(env, e);
  }
  in_flight_.insert(id);
  if (!referenced_) {
    tsfn_.Ref(env);
    referenced_ = true;
  }
  return env.Undefined();
}

Napi::Value EngineWrap::Abort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "abort(id): id must be a string");
  if (engine_) engine_->abort(info[0].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

Napi::Value EngineWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!engine_) throw Napi::Error::New(env, missing_engine());
  return stats_to_js(env, engine_->stats());
}

// { ms: Float64Array, tokens: Int32Array }: the steps since the last call (typed arrays: a busy
// engine runs thousands of steps between two metric refreshes).
Napi::Value EngineWrap::DrainSteps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!engine_) throw Napi::Error::New(env, "engine is closed");
  const std::vector<llm::StepSample> steps = engine_->drain_steps();
  Napi::Float64Array ms = Napi::Float64Array::New(env, steps.size());
  Napi::Int32Array tokens = Napi::Int32Array::New(env, steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    ms[i] = steps[i].ms;
    tokens[i] = steps[i].tokens;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("ms", ms);
  out.Set("tokens", tokens);
  return out;
}

Napi::Value EngineWrap::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!engine_) throw Napi::Error::New(env, missing_engine());
  return info_to_js(env, engine_->info());
}

Napi::Value EngineWrap::Close(const Napi::CallbackInfo& info) {
  shutdown();
  return info.Env().Undefined();
}

}  // namespace addon
