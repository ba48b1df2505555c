// addon.Engine: an ObjectWrap around llm::Engine. Events come from the engine thread as plain
// C++ values and reach JS through one ThreadSafeFunction call per step; V8 objects are only
// built on the JS thread. The ThreadSafeFunction is referenced only while requests are in flight,
// so an idle engine does not keep Node alive. `new Engine(options, onEvents, true)` defers the load:
// `load()` then builds the engine on a libuv worker thread and resolves a Promise, so loading a
// model while the gateway serves does not stall the event loop.
#pragma once

#include <napi.h>

#include <memory>
#include <unordered_set>

#include "llm/engine.h"

namespace addon {

class EngineWrap : public Napi::ObjectWrap<EngineWrap> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit EngineWrap(const Napi::CallbackInfo& info);
  ~EngineWrap() override;

 private:
  Napi::Value Add(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value DrainSteps(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);

  void deliver(Napi::Env env, Napi::Function callback, std::vector<llm::RequestEvent>* events);
  void shutdown();
  // What add()/stats()/info() say when there is no engine: still loading, or closed.
  const char* missing_engine() const;

  friend class LoadWorker;

  std::unique_ptr<llm::Engine> engine_;
  Napi::ThreadSafeFunction tsfn_;
  bool released_ = true;
  bool referenced_ = false;
  std::unordered_set<std::string> in_flight_;  // JS thread only
  // A deferred load's arguments, kept until load() hands them to its worker.
  std::unique_ptr<llm::EngineOptions> pending_options_;
  llm::EventSink pending_sink_;
  bool loading_ = false;
};

}  // namespace addon
