// Signal and ErrorSignal against Node's EventEmitter rules. Each expectation about ordering was
// checked with a small Node 20 script (events.EventEmitter) before being written down here.
#include "httpx/core/event.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "support/support.hpp"

namespace httpx::core {
namespace {

using Log = std::vector<std::string>;

// A listener that appends `name` to `log`.
std::function<void()> push(Log& log, std::string name) {
  return [&log, name = std::move(name)] { log.push_back(name); };
}

TEST(SignalTest, EmitWithoutListenersReturnsFalse) {
  Signal<> s;
  EXPECT_FALSE(s.emit());
  EXPECT_EQ(s.listener_count(), 0u);
}

TEST(SignalTest, EmitReturnsTrueWhenSomeoneListens) {
  Signal<> s;
  s.on(test::must_call());
  EXPECT_TRUE(s.emit());
}

TEST(SignalTest, ListenersRunInRegistrationOrderWithTheArguments) {
  // Node: e.on('x', (a, b) => a + b); e.on('x', (a, b) => a * b); e.emit('x', 3, 4) → 7, 12.
  Signal<int, int> s;
  std::vector<int> seen;
  s.on([&](int a, int b) { seen.push_back(a + b); });
  s.on([&](int a, int b) { seen.push_back(a * b); });
  s.on([&](int a, int b) { seen.push_back(a - b); });
  EXPECT_TRUE(s.emit(3, 4));
  EXPECT_EQ(seen, (std::vector<int>{7, 12, -1}));
}

TEST(SignalTest, EveryListenerSeesTheSameArguments) {
  Signal<const std::string&, int> s;
  std::vector<std::string> seen;
  s.on([&](const std::string& text, int n) { seen.push_back(text + std::to_string(n)); });
  s.on([&](const std::string& text, int n) { seen.push_back(text + std::to_string(n)); });
  s.emit("abc", 5);
  EXPECT_EQ(seen, (std::vector<std::string>{"abc5", "abc5"}));
}

TEST(SignalTest, ReferenceArgumentsReachTheCallersObject) {
  Signal<int&> s;
  s.on([](int& v) { v += 1; });
  s.on([](int& v) { v *= 10; });
  int value = 1;
  s.emit(value);
  EXPECT_EQ(value, 20);
}

TEST(SignalTest, ListenerKeepsItsStateAcrossEmits) {
  Signal<> s;
  std::vector<int> seen;
  s.on([&seen, n = 0]() mutable { seen.push_back(++n); });
  s.emit();
  s.emit();
  s.emit();
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
}

TEST(SignalTest, OnceRunsOnlyOnce) {
  Signal<int> s;
  s.once(test::must_call<int>(std::function<void(int)>([](int v) { EXPECT_EQ(v, 1); })));
  EXPECT_EQ(s.listener_count(), 1u);
  EXPECT_TRUE(s.emit(1));
  EXPECT_EQ(s.listener_count(), 0u);
  EXPECT_FALSE(s.emit(2));
}

TEST(SignalTest, OnceIsRemovedBeforeItRuns) {
  // Node: inside a once listener listenerCount is 0 and a nested emit returns false.
  Signal<> s;
  std::size_t count_inside = 99;
  bool inner = true;
  s.once(test::must_call([&] {
    count_inside = s.listener_count();
    inner = s.emit();
  }));
  EXPECT_TRUE(s.emit());
  EXPECT_EQ(count_inside, 0u);
  EXPECT_FALSE(inner);
}

TEST(SignalTest, OnceRunsAtMostOnceWhenReemitted) {
  // Node: an earlier listener re-emits before the once listener's turn in the outer emit; the
  // inner emit runs it, the outer one then skips it: on,on,once.
  Signal<> s;
  Log log;
  int depth = 0;
  s.on([&] {
    log.push_back("on");
    if (depth++ == 0) s.emit();
  });
  s.once(push(log, "once"));
  s.emit();
  EXPECT_EQ(log, (Log{"on", "on", "once"}));
  EXPECT_EQ(s.listener_count(), 1u);
}

TEST(SignalTest, OnceReemittingItselfRunsOnce) {
  Signal<> s;
  int calls = 0;
  s.once([&] {
    ++calls;
    s.emit();
    s.emit();
  });
  s.emit();
  s.emit();
  EXPECT_EQ(calls, 1);
}

TEST(SignalTest, OnceKeepsItsPlaceInTheOrder) {
  Signal<> s;
  Log log;
  s.on(push(log, "a"));
  s.once(push(log, "o"));
  s.on(push(log, "b"));
  s.emit();
  s.emit();
  EXPECT_EQ(log, (Log{"a", "o", "b", "a", "b"}));
}

TEST(SignalTest, PrependPutsListenersFirst) {
  // Node: on a, on b, prependListener p1, prependListener p2, prependOnceListener po, once o:
  // first emit po,p2,p1,a,b,o; second emit p2,p1,a,b.
  Signal<> s;
  Log log;
  s.on(push(log, "a"));
  s.on(push(log, "b"));
  s.prepend_listener(push(log, "p1"));
  s.prepend_listener(push(log, "p2"));
  s.prepend_once_listener(push(log, "po"));
  s.once(push(log, "o"));
  EXPECT_EQ(s.listener_count(), 6u);
  s.emit();
  EXPECT_EQ(log, (Log{"po", "p2", "p1", "a", "b", "o"}));
  log.clear();
  s.emit();
  EXPECT_EQ(log, (Log{"p2", "p1", "a", "b"}));
  EXPECT_EQ(s.listener_count(), 4u);
}

TEST(SignalTest, PrependOnceRunsOnlyOnce) {
  Signal<> s;
  s.prepend_once_listener(test::must_call());
  s.emit();
  EXPECT_FALSE(s.emit());
}

TEST(SignalTest, ListenerAddedDuringEmitRunsOnlyOnLaterEmits) {
  // Node: the listener added inside the first emit does not run in it; count becomes 2.
  Signal<> s;
  Log log;
  bool added = false;
  s.on([&] {
    log.push_back("a");
    if (!added) {
      added = true;
      s.on(push(log, "new"));
      s.prepend_listener(push(log, "front"));
    }
  });
  s.emit();
  EXPECT_EQ(log, (Log{"a"}));
  EXPECT_EQ(s.listener_count(), 3u);
  log.clear();
  s.emit();
  EXPECT_EQ(log, (Log{"front", "a", "new"}));
}

TEST(SignalTest, ListenerAddedDuringSingleListenerEmitWaitsForNextEmit) {
  // The one-listener path must follow the same snapshot rule.
  Signal<> s;
  int added_calls = 0;
  s.once([&] { s.on([&] { ++added_calls; }); });
  s.emit();
  EXPECT_EQ(added_calls, 0);
  s.emit();
  EXPECT_EQ(added_calls, 1);
}

TEST(SignalTest, ListenerRemovedDuringEmitStillRunsInThatEmit) {
  // Node: a removes b during the emit; b still runs in it (a,b), not in the next one (a).
  Signal<> s;
  Log log;
  ListenerId b = 0;
  s.on([&] {
    log.push_back("a");
    s.off(b);
  });
  b = s.on(push(log, "b"));
  s.emit();
  s.emit();
  EXPECT_EQ(log, (Log{"a", "b", "a"}));
  EXPECT_EQ(s.listener_count(), 1u);
}

TEST(SignalTest, OnceListenerRemovedDuringEmitStillRunsInThatEmit) {
  // Node: same as above with `once` for b: a,b,a.
  Signal<> s;
  Log log;
  ListenerId b = 0;
  s.on([&] {
    log.push_back("a");
    s.off(b);
  });
  b = s.once(push(log, "b"));
  s.emit();
  s.emit();
  EXPECT_EQ(log, (Log{"a", "b", "a"}));
}

TEST(SignalTest, ListenerRemovingItselfRunsToCompletion) {
  // Node: a removes itself: a,b then b.
  Signal<> s;
  Log log;
  ListenerId a = 0;
  a = s.on([&] {
    log.push_back("a");
    EXPECT_TRUE(s.off(a));
    log.push_back("a-after-off");
  });
  s.on(push(log, "b"));
  s.emit();
  s.emit();
  EXPECT_EQ(log, (Log{"a", "a-after-off", "b", "b"}));
}

TEST(SignalTest, SoleListenerRemovingItselfKeepsItsCapturesAlive) {
  // The listener's own closure must outlive its call even when it is erased from the signal.
  Signal<> s;
  auto state = std::make_shared<std::string>("alive");
  std::string seen;
  ListenerId id = 0;
  id = s.on([&, state] {
    s.off(id);
    seen = *state;
  });
  state.reset();
  s.emit();
  EXPECT_EQ(seen, "alive");
  EXPECT_EQ(s.listener_count(), 0u);
}

TEST(SignalTest, RemoveAllListenersDuringEmitLetsTheSnapshotFinish) {
  // Node: a calls removeAllListeners; b still runs in that emit; the next emit returns false.
  Signal<> s;
  Log log;
  s.on([&] {
    log.push_back("a");
    s.remove_all_listeners();
  });
  s.on(push(log, "b"));
  EXPECT_TRUE(s.emit());
  EXPECT_FALSE(s.emit());
  EXPECT_EQ(log, (Log{"a", "b"}));
}

TEST(SignalTest, RemoveAllListenersInsideSoleListenerKeepsItsCapturesAlive) {
  Signal<> s;
  auto state = std::make_shared<int>(7);
  int seen = 0;
  s.on([&, state] {
    s.remove_all_listeners();
    seen = *state;
  });
  state.reset();
  s.emit();
  EXPECT_EQ(seen, 7);
}

TEST(SignalTest, OffRemovesExactlyThatRegistration) {
  Signal<> s;
  Log log;
  auto fn = push(log, "x");
  const ListenerId first = s.on(fn);
  const ListenerId second = s.on(fn);
  EXPECT_NE(first, second);
  EXPECT_TRUE(s.off(first));
  EXPECT_EQ(s.listener_count(), 1u);
  s.emit();
  EXPECT_EQ(log, (Log{"x"}));
}

TEST(SignalTest, OffReturnsFalseForUnknownOrRemovedListeners) {
  Signal<> s;
  EXPECT_FALSE(s.off(12345));
  const ListenerId id = s.on([] {});
  EXPECT_TRUE(s.off(id));
  EXPECT_FALSE(s.off(id));
  const ListenerId once = s.once([] {});
  s.emit();
  EXPECT_FALSE(s.off(once));
  EXPECT_FALSE(s.emit());
}

TEST(SignalTest, OffBeforeEmitKeepsOnceFromRunning) {
  Signal<> s;
  const ListenerId id = s.once(test::must_not_call<>());
  EXPECT_TRUE(s.off(id));
  EXPECT_FALSE(s.emit());
}

TEST(SignalTest, ListenerIdsAreUniqueAcrossKinds) {
  Signal<> s;
  std::vector<ListenerId> ids{s.on([] {}), s.once([] {}), s.prepend_listener([] {}), s.prepend_once_listener([] {})};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    for (std::size_t j = i + 1; j < ids.size(); ++j) EXPECT_NE(ids[i], ids[j]);
  }
  // Each id removes its own registration.
  for (auto id : ids) EXPECT_TRUE(s.off(id));
  EXPECT_EQ(s.listener_count(), 0u);
}

TEST(SignalTest, RemoveAllListenersEmptiesTheSignal) {
  Signal<int> s;
  s.on(test::must_not_call<int>());
  s.once(test::must_not_call<int>());
  s.prepend_listener(test::must_not_call<int>());
  EXPECT_EQ(s.listener_count(), 3u);
  s.remove_all_listeners();
  EXPECT_EQ(s.listener_count(), 0u);
  EXPECT_FALSE(s.emit(1));
  // The signal is usable afterwards.
  s.on(test::must_call<int>(std::function<void(int)>([](int v) { EXPECT_EQ(v, 2); })));
  EXPECT_TRUE(s.emit(2));
}

TEST(SignalTest, ListenerCountCountsEveryKind) {
  Signal<> s;
  EXPECT_EQ(s.listener_count(), 0u);
  s.on([] {});
  s.once([] {});
  s.prepend_listener([] {});
  s.prepend_once_listener([] {});
  EXPECT_EQ(s.listener_count(), 4u);
  s.emit();
  EXPECT_EQ(s.listener_count(), 2u);
}

TEST(SignalTest, ListenerAddedHookRunsAfterEachRegistration) {
  Signal<> s;
  std::vector<std::size_t> counts;
  s.set_listener_added_hook([&] { counts.push_back(s.listener_count()); });
  const ListenerId a = s.on([] {});
  s.once([] {});
  s.prepend_listener([] {});
  s.prepend_once_listener([] {});
  EXPECT_EQ(counts, (std::vector<std::size_t>{1, 2, 3, 4}));
  // Removal and emit are not registrations.
  s.off(a);
  s.emit();
  s.remove_all_listeners();
  EXPECT_EQ(counts.size(), 4u);
}

TEST(SignalTest, ListenerAddedHookCanEmitToTheNewListener) {
  // What a readable does when a 'data' listener arrives: the hook may start delivering at once.
  Signal<int> s;
  s.set_listener_added_hook([&] { s.emit(42); });
  std::vector<int> seen;
  s.on([&](int v) { seen.push_back(v); });
  EXPECT_EQ(seen, (std::vector<int>{42}));
}

TEST(SignalTest, ThrowingListenerStopsTheEmitAndOnceStaysRemoved) {
  // Node: once o throws; b does not run in that emit; the next emit runs only b: o,b; count 1.
  Signal<> s;
  Log log;
  s.once([&] {
    log.push_back("o");
    throw std::runtime_error("listener failed");
  });
  s.on(push(log, "b"));
  EXPECT_THROW(s.emit(), std::runtime_error);
  EXPECT_EQ(log, (Log{"o"}));
  EXPECT_TRUE(s.emit());
  EXPECT_EQ(log, (Log{"o", "b"}));
  EXPECT_EQ(s.listener_count(), 1u);
}

TEST(SignalTest, ManyListenersAllRunInOrder) {
  Signal<> s;
  std::vector<int> seen;
  for (int i = 0; i < 100; ++i) s.on([&seen, i] { seen.push_back(i); });
  s.emit();
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
}

TEST(ErrorSignalTest, ErrorNobodyListensForIsThrown) {
  // Node: emit('error', err) without a listener throws err.
  ErrorSignal s;
  const std::error_code ec = errc::socket_hang_up;
  try {
    s.emit(ec);
    FAIL() << "an unhandled error must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ec);
    EXPECT_EQ(e.node_code(), "ECONNRESET");
    EXPECT_STREQ(e.what(), "socket hang up");
  }
}

TEST(ErrorSignalTest, ErrorGoesToListenersInsteadOfThrowing) {
  ErrorSignal s;
  const std::error_code ec = std::make_error_code(std::errc::connection_refused);
  s.on(test::must_call<std::error_code>(
      std::function<void(std::error_code)>([&](std::error_code got) { EXPECT_EQ(got, ec); })));
  bool handled = false;
  EXPECT_NO_THROW(handled = s.emit(ec));
  EXPECT_TRUE(handled);
}

TEST(ErrorSignalTest, SecondErrorThrowsAfterTheOnceListenerIsUsed) {
  // Node: once('error') handles the first error; the second emit throws it.
  ErrorSignal s;
  s.once(test::must_call<std::error_code>(std::function<void(std::error_code)>([](std::error_code ec) {
    EXPECT_EQ(ec, errc::aborted);
  })));
  EXPECT_TRUE(s.emit(errc::aborted));
  EXPECT_THROW(s.emit(errc::err_stream_destroyed), Error);
}

TEST(ErrorSignalTest, ThrowsAfterListenersWereRemoved) {
  ErrorSignal s;
  const ListenerId id = s.on(test::must_not_call<std::error_code>());
  s.off(id);
  EXPECT_THROW(s.emit(errc::aborted), Error);
  s.on(test::must_not_call<std::error_code>());
  s.remove_all_listeners();
  EXPECT_THROW(s.emit(errc::aborted), std::system_error);
}

TEST(ErrorSignalTest, ThrownErrorCarriesTheCodeOfAnyCategory) {
  ErrorSignal s;
  const std::error_code ec(ECONNRESET, std::system_category());
  try {
    s.emit(ec);
    FAIL() << "an unhandled error must throw";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), ec);
    EXPECT_EQ(std::string(e.what()), ec.message());
  }
}

}  // namespace
}  // namespace httpx::core
