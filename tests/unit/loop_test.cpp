// Loop and Timer against Node's timers and process lifetime (libuv's referenced handles). The
// ordering expectations were checked with a Node 20 script (setTimeout/setInterval/nextTick,
// refresh, unref, clearTimeout) before being written down here. No test sleeps: each runs the loop
// with a generous limit and asserts that the loop ended by itself.
#include "httpx/core/loop.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/support.hpp"

namespace httpx::core {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Log = std::vector<std::string>;

// Far more than any test needs; reaching it means the loop did not end by itself.
constexpr auto kLimit = 10s;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

std::function<void()> push(Log& log, std::string name) {
  return [&log, name = std::move(name)] { log.push_back(name); };
}

// Bounds a plain run(): an unreferenced timer, so it does not keep the loop alive, that stops the
// loop and records it if the loop is still running at kLimit.
class Watchdog {
 public:
  explicit Watchdog(Loop& loop)
      : timer_(loop.set_timeout(
            [&loop, expired = expired_] {
              *expired = true;
              loop.stop();
            },
            kLimit)) {
    timer_->unref();
  }
  ~Watchdog() { timer_->close(); }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  bool expired() const { return *expired_; }

 private:
  std::shared_ptr<bool> expired_ = std::make_shared<bool>(false);
  std::shared_ptr<Timer> timer_;
};

// --- run, run_for, alive -------------------------------------------------------------------------

TEST(LoopTest, RunReturnsAtOnceWhenNothingIsPending) {
  Loop loop;
  EXPECT_FALSE(loop.alive());
  EXPECT_EQ(loop.ref_count(), 0u);
  Watchdog watchdog(loop);
  loop.run();
  EXPECT_FALSE(watchdog.expired());
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, RunForReturnsFalseAtTheTimeLimit) {
  Loop loop;
  loop.add_ref();
  const auto start = Clock::now();
  EXPECT_FALSE(loop.run_for(30ms));
  EXPECT_GE(since(start), 30ms);
  EXPECT_TRUE(loop.alive());
  loop.release_ref();
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, RunForRunsWorkThatIsDue) {
  Loop loop;
  loop.post(test::must_call());
  loop.set_timeout(test::must_call(), 5ms);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(loop.alive());
}

TEST(LoopTest, RunReturnsWhenTheLastTimerFired) {
  Loop loop;
  loop.set_timeout(test::must_call(), 5ms);
  loop.set_timeout(test::must_call(), 15ms);
  Watchdog watchdog(loop);
  loop.run();
  EXPECT_FALSE(watchdog.expired());
  EXPECT_FALSE(loop.alive());
  EXPECT_EQ(loop.ref_count(), 0u);
}

TEST(LoopTest, LoopCanBeRunAgainAfterItRanOutOfWork) {
  Loop loop;
  loop.set_timeout(test::must_call(), 1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  loop.post(test::must_call());
  ASSERT_TRUE(loop.run_for(kLimit));
  loop.set_timeout(test::must_call(), 1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  loop.set_timeout(test::must_call(), 1ms);
  EXPECT_TRUE(loop.run_for(kLimit));
}

// --- post ----------------------------------------------------------------------------------------

TEST(LoopTest, PostNeverRunsInsidePost) {
  Loop loop;
  bool ran = false;
  loop.post([&] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_TRUE(loop.alive());
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(ran);
  EXPECT_FALSE(loop.alive());
}

TEST(LoopTest, PostFromACallbackRunsAfterThatCallback) {
  Loop loop;
  Log log;
  loop.post([&] {
    loop.post(push(log, "inner"));
    log.push_back("outer-end");
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"outer-end", "inner"}));
}

TEST(LoopTest, PostsRunInOrder) {
  // Node: nextTick callbacks queued from a callback run after those already queued.
  Loop loop;
  Log log;
  loop.post([&] {
    log.push_back("a");
    loop.post(push(log, "c"));
  });
  loop.post(push(log, "b"));
  for (int i = 0; i < 5; ++i) loop.post(push(log, std::to_string(i)));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"a", "b", "0", "1", "2", "3", "4", "c"}));
}

TEST(LoopTest, PostKeepsTheCallbackState) {
  Loop loop;
  int seen = 0;
  loop.post([&seen, n = 41]() mutable { seen = ++n; });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(seen, 42);
}

TEST(LoopTest, PostHoldsItsKeepAliveUntilTheCallbackRan) {
  Loop loop;
  auto owned = std::make_shared<int>(7);
  std::weak_ptr<int> weak = owned;
  int seen = 0;
  loop.post(owned, [&seen, raw = owned.get()] { seen = *raw; });
  owned.reset();
  EXPECT_FALSE(weak.expired());
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(seen, 7);
  EXPECT_TRUE(weak.expired());
}

TEST(LoopTest, ACallbackThatThrowsEndsRunAndTheRestRunNextTime) {
  Loop loop;
  Log log;
  loop.post([] { throw std::runtime_error("boom"); });
  loop.post(push(log, "after"));
  EXPECT_THROW(loop.run(), std::runtime_error);
  EXPECT_TRUE(log.empty());
  EXPECT_TRUE(loop.alive());
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"after"}));
  EXPECT_FALSE(loop.alive());
}

TEST(LoopTest, PostsFromACallbackRunBeforeADueTimer) {
  // Node drains the nextTick queue, including ticks queued by ticks, before timers:
  // setTimeout(t, 0); nextTick(() => { busy 5 ms; nextTick(b) }) logs b before t.
  Loop loop;
  Log log;
  loop.set_timeout(push(log, "timer"), std::chrono::milliseconds(1));
  loop.post([&] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
    while (std::chrono::steady_clock::now() < until) {
    }
    log.push_back("a");
    loop.post(push(log, "b"));
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"a", "b", "timer"}));
}

TEST(LoopTest, ChainOfPostsKeepsTheLoopRunning) {
  Loop loop;
  int count = 0;
  std::function<void()> step = [&] {
    if (++count < 1000) loop.post(step);
  };
  loop.post(step);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(count, 1000);
}

TEST(LoopTest, PostsRunBeforeAZeroDelayTimer) {
  // Node: process.nextTick runs before setTimeout(fn, 0).
  Loop loop;
  Log log;
  loop.set_timeout(push(log, "timeout"), 0ms);
  loop.post(push(log, "post"));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"post", "timeout"}));
}

// --- set_timeout ---------------------------------------------------------------------------------

TEST(LoopTest, TimeoutFiresOnceAndNotBeforeItsDelay) {
  Loop loop;
  const auto start = Clock::now();
  Clock::duration fired_after{};
  loop.set_timeout(test::must_call([&] { fired_after = Clock::now() - start; }), 50ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_GE(fired_after, 50ms);
}

TEST(LoopTest, TimeoutNeverFiresInsideSetTimeout) {
  Loop loop;
  bool fired = false;
  auto t = loop.set_timeout([&] { fired = true; }, 0ms);
  EXPECT_FALSE(fired);
  EXPECT_TRUE(t->active());
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(fired);
}

TEST(LoopTest, IgnoredTimerStillFires) {
  Loop loop;
  (void)loop.set_timeout(test::must_call(), 1ms);
  EXPECT_EQ(loop.ref_count(), 1u);
  ASSERT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, TimersFireInDeadlineOrder) {
  // Node: 30, 10, 20 ms set in that order fire 10, 20, 30.
  Loop loop;
  Log log;
  loop.set_timeout(push(log, "c30"), 30ms);
  loop.set_timeout(push(log, "a10"), 10ms);
  loop.set_timeout(push(log, "b20"), 20ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"a10", "b20", "c30"}));
}

TEST(LoopTest, TimersWithEqualDelaysFireInCreationOrder) {
  Loop loop;
  Log log;
  for (int i = 0; i < 5; ++i) loop.set_timeout(push(log, std::to_string(i)), 5ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"0", "1", "2", "3", "4"}));
}

TEST(LoopTest, DelaysBelowOneMillisecondAreOneMillisecond) {
  Loop loop;
  const auto start = Clock::now();
  Clock::duration zero_after{}, negative_after{};
  loop.set_timeout(test::must_call([&] { zero_after = Clock::now() - start; }), 0ms);
  loop.set_timeout(test::must_call([&] { negative_after = Clock::now() - start; }), -5ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_GE(zero_after, 1ms);
  EXPECT_GE(negative_after, 1ms);
}

TEST(LoopTest, TimerSetInsideACallbackKeepsTheLoopRunning) {
  // The fired timer released the last reference; the new one must keep run() going.
  Loop loop;
  loop.set_timeout([&] { loop.set_timeout(test::must_call(), 10ms); }, 1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, PostFromTheLastTimerKeepsTheLoopRunning) {
  Loop loop;
  loop.set_timeout([&] { loop.post([&] { loop.post(test::must_call()); }); }, 1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, TimeoutKeepsTheCallbackStateAcrossRefresh) {
  // Like a JS closure, the callback is one object for the timer's whole life.
  Loop loop;
  std::shared_ptr<Timer> t;
  int calls = 0;
  t = loop.set_timeout(
      [&calls, &t, n = 0]() mutable {
        ++calls;
        if (++n < 3) t->refresh();
      },
      1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(calls, 3);
}

// --- clear_timeout / close ------------------------------------------------------------------------

TEST(LoopTest, ClearTimeoutBeforeItFiresCancelsIt) {
  Loop loop;
  auto t = loop.set_timeout(test::must_not_call<>(), 5s);
  EXPECT_TRUE(t->active());
  EXPECT_EQ(loop.ref_count(), 1u);
  Loop::clear_timeout(t);
  EXPECT_FALSE(t->active());
  EXPECT_EQ(loop.ref_count(), 0u);
  EXPECT_FALSE(loop.alive());
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, ClearTimeoutFromAnotherCallbackCancelsIt) {
  Loop loop;
  auto late = loop.set_timeout(test::must_not_call<>(), 200ms);
  loop.set_timeout(test::must_call([&] { Loop::clear_timeout(late); }), 5ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(late->active());
  EXPECT_EQ(loop.ref_count(), 0u);
}

TEST(LoopTest, ClearingOneTimerLeavesTheOthers) {
  Loop loop;
  Log log;
  loop.set_timeout(push(log, "a"), 5ms);
  auto b = loop.set_timeout(push(log, "b"), 10ms);
  loop.set_timeout(push(log, "c"), 15ms);
  Loop::clear_timeout(b);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"a", "c"}));
}

TEST(LoopTest, ClearingAFiredTimerIsHarmless) {
  Loop loop;
  auto t = loop.set_timeout(test::must_call(), 1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(t->active());
  Loop::clear_timeout(t);
  Loop::clear_interval(t);
  t->close();
  EXPECT_FALSE(t->active());
  EXPECT_EQ(loop.ref_count(), 0u);
  EXPECT_FALSE(loop.alive());
  // Other timers are not disturbed.
  loop.set_timeout(test::must_call(), 1ms);
  EXPECT_EQ(loop.ref_count(), 1u);
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, ClearTimeoutIgnoresNull) {
  Loop loop;
  Loop::clear_timeout(nullptr);
  Loop::clear_interval(std::shared_ptr<Timer>());
  EXPECT_FALSE(loop.alive());
}

TEST(LoopTest, ClosingTwiceIsHarmless) {
  Loop loop;
  auto t = loop.set_timeout(test::must_not_call<>(), 1s);
  t->close();
  t->close();
  EXPECT_EQ(loop.ref_count(), 0u);
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, ClosingATimeoutInsideItsCallbackIsHarmless) {
  Loop loop;
  std::shared_ptr<Timer> t;
  t = loop.set_timeout(test::must_call([&] { t->close(); }), 1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(loop.ref_count(), 0u);
}

TEST(LoopTest, TimerClosedByATimerDueAtTheSameTimeDoesNotFire) {
  // Both may expire in one pass of the loop; the second must still honour the close.
  Loop loop;
  std::shared_ptr<Timer> second;
  loop.set_timeout(test::must_call([&] { second->close(); }), 5ms);
  second = loop.set_timeout(test::must_not_call<>(), 5ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(second->active());
}

// --- refresh -------------------------------------------------------------------------------------

TEST(LoopTest, RefreshRearmsAFiredTimeout) {
  // Node: refresh() on a timeout that already ran makes it run again.
  Loop loop;
  std::shared_ptr<Timer> t;
  int calls = 0;
  t = loop.set_timeout(
      [&] {
        if (++calls == 1) {
          EXPECT_FALSE(t->active());
          t->refresh();
          EXPECT_TRUE(t->active());
        }
      },
      1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(t->active());
}

TEST(LoopTest, RefreshAfterRunReturnedRearms) {
  Loop loop;
  auto t = loop.set_timeout(test::must_call([] {}, 2), 1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  t->refresh();
  EXPECT_TRUE(t->active());
  EXPECT_TRUE(loop.alive());
  ASSERT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, RefreshPostponesAnArmedTimeout) {
  // Refreshed 30 ms after start, a 60 ms timeout fires no earlier than 90 ms after start.
  Loop loop;
  const auto start = Clock::now();
  Clock::duration fired_after{};
  auto t = loop.set_timeout(test::must_call([&] { fired_after = Clock::now() - start; }), 60ms);
  loop.set_timeout([&] { t->refresh(); }, 30ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_GE(fired_after, 90ms);
}

TEST(LoopTest, TimerRefreshedByATimerDueAtTheSameTimeFiresOnceLater) {
  Loop loop;
  const auto start = Clock::now();
  Clock::duration second_after{};
  std::shared_ptr<Timer> second;
  loop.set_timeout(test::must_call([&] { second->refresh(); }), 20ms);
  second = loop.set_timeout(test::must_call([&] { second_after = Clock::now() - start; }), 20ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_GE(second_after, 40ms);
}

TEST(LoopTest, RefreshDoesNotReviveAClearedTimer) {
  // Node: clearTimeout(t); t.refresh() — the callback never runs.
  Loop loop;
  auto t = loop.set_timeout(test::must_not_call<>(), 1ms);
  Loop::clear_timeout(t);
  t->refresh();
  EXPECT_FALSE(t->active());
  EXPECT_FALSE(loop.alive());
  // Give a revived timer every chance to fire while something else keeps the loop running.
  loop.set_timeout(test::must_call(), 30ms);
  EXPECT_TRUE(loop.run_for(kLimit));
}

// --- set_interval --------------------------------------------------------------------------------

TEST(LoopTest, IntervalRepeatsUntilClearedInsideItsCallback) {
  Loop loop;
  std::shared_ptr<Timer> t;
  int calls = 0;
  t = loop.set_interval(
      [&] {
        EXPECT_TRUE(t->active());
        if (++calls == 3) Loop::clear_interval(t);
      },
      2ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(t->active());
  EXPECT_EQ(loop.ref_count(), 0u);
}

TEST(LoopTest, IntervalKeepsTheCallbackState) {
  Loop loop;
  std::shared_ptr<Timer> t;
  int calls = 0;
  t = loop.set_interval(
      [&calls, &t, n = 0]() mutable {
        ++calls;
        if (++n == 3) t->close();
      },
      1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(calls, 3);
}

TEST(LoopTest, IntervalClearedFromAnotherCallbackStops) {
  Loop loop;
  int calls = 0;
  int calls_at_clear = -1;
  auto interval = loop.set_interval([&] { ++calls; }, 2ms);
  loop.set_timeout(
      [&] {
        Loop::clear_interval(interval);
        calls_at_clear = calls;
      },
      30ms);
  // Keeps the loop running well past the clear, so a surviving interval would show.
  loop.set_timeout(test::must_call(), 60ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_GE(calls_at_clear, 1);
  EXPECT_EQ(calls, calls_at_clear);
  EXPECT_FALSE(interval->active());
}

TEST(LoopTest, IntervalWaitsItsDelayBetweenRuns) {
  Loop loop;
  std::shared_ptr<Timer> t;
  const auto start = Clock::now();
  std::vector<Clock::duration> at;
  t = loop.set_interval(
      [&] {
        at.push_back(Clock::now() - start);
        if (at.size() == 3) t->close();
      },
      20ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  // Each run re-arms before its callback, so run k comes no earlier than k delays after the start.
  ASSERT_EQ(at.size(), 3u);
  EXPECT_GE(at[0], 20ms);
  EXPECT_GE(at[1], 40ms);
  EXPECT_GE(at[2], 60ms);
}

TEST(LoopTest, ZeroDelayIntervalDoesNotSpin) {
  // Clamped to 1 ms: five runs take at least 5 ms.
  Loop loop;
  std::shared_ptr<Timer> t;
  const auto start = Clock::now();
  int calls = 0;
  t = loop.set_interval(
      [&] {
        if (++calls == 5) t->close();
      },
      0ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(calls, 5);
  EXPECT_GE(since(start), 5ms);
}

TEST(LoopTest, IntervalStaysActiveBetweenRuns) {
  Loop loop;
  std::shared_ptr<Timer> t;
  int calls = 0;
  t = loop.set_interval([&] { ++calls; }, 1ms);
  loop.set_timeout(
      [&] {
        EXPECT_TRUE(t->active());
        EXPECT_GE(calls, 1);
        t->close();
      },
      20ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(t->active());
}

// --- ref / unref ---------------------------------------------------------------------------------

TEST(LoopTest, UnrefTimerDoesNotKeepTheLoopAlive) {
  Loop loop;
  auto t = loop.set_timeout(test::must_not_call<>(), 1h);
  EXPECT_TRUE(t->has_ref());
  EXPECT_TRUE(loop.alive());
  t->unref();
  EXPECT_FALSE(t->has_ref());
  EXPECT_TRUE(t->active());
  EXPECT_FALSE(loop.alive());
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, UnrefTimerFiresWhileTheLoopRunsForSomethingElse) {
  // Node: an unref'ed 10 ms timeout fires while a referenced 60 ms one keeps the process up.
  Loop loop;
  Log log;
  auto u = loop.set_timeout(push(log, "unref10"), 10ms);
  u->unref();
  loop.set_timeout(push(log, "ref60"), 60ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"unref10", "ref60"}));
}

TEST(LoopTest, RunReturnsWithoutWaitingForUnrefTimers) {
  Loop loop;
  auto u = loop.set_interval(test::must_not_call<>(), 1h);
  u->unref();
  loop.set_timeout(test::must_call(), 5ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(u->active());
  EXPECT_FALSE(loop.alive());
}

TEST(LoopTest, UnrefIntervalFiresWhileTheLoopIsKeptAlive) {
  Loop loop;
  int calls = 0;
  auto u = loop.set_interval([&] { ++calls; }, 2ms);
  u->unref();
  loop.set_timeout([&] { u->close(); }, 50ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_GE(calls, 1);
}

TEST(LoopTest, RefAgainKeepsTheLoopAlive) {
  Loop loop;
  auto t = loop.set_timeout(test::must_call(), 20ms);
  t->unref();
  t->ref();
  EXPECT_TRUE(t->has_ref());
  EXPECT_EQ(loop.ref_count(), 1u);
  ASSERT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, RefCountFollowsArmedReferencedTimers) {
  Loop loop;
  auto a = loop.set_timeout([] {}, 1h);
  auto b = loop.set_interval([] {}, 1h);
  EXPECT_EQ(loop.ref_count(), 2u);
  a->unref();
  a->unref();
  EXPECT_EQ(loop.ref_count(), 1u);
  a->ref();
  a->ref();
  EXPECT_EQ(loop.ref_count(), 2u);
  a->close();
  EXPECT_EQ(loop.ref_count(), 1u);
  // Ref state of a closed timer changes no count.
  a->unref();
  a->ref();
  EXPECT_EQ(loop.ref_count(), 1u);
  EXPECT_TRUE(a->has_ref());
  b->close();
  EXPECT_EQ(loop.ref_count(), 0u);
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, UnrefInsideTheCallbackLetsRunReturn) {
  // Node: an interval that unrefs itself lets the process exit.
  Loop loop;
  std::shared_ptr<Timer> t;
  int calls = 0;
  t = loop.set_interval(
      [&] {
        if (++calls == 3) t->unref();
      },
      1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(t->active());
  t->close();
}

TEST(LoopTest, UnrefThenRefreshStaysUnreferenced) {
  Loop loop;
  auto t = loop.set_timeout(test::must_not_call<>(), 1h);
  t->unref();
  t->refresh();
  EXPECT_FALSE(t->has_ref());
  EXPECT_FALSE(loop.alive());
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, FiredUnrefTimerCanBeRefreshedAndReferenced) {
  Loop loop;
  auto t = loop.set_timeout(test::must_call([] {}, 2), 5ms);
  t->unref();
  loop.set_timeout(test::must_call(), 20ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(t->active());
  t->ref();
  t->refresh();
  EXPECT_EQ(loop.ref_count(), 1u);
  ASSERT_TRUE(loop.run_for(kLimit));
}

// --- add_ref / release_ref -----------------------------------------------------------------------

TEST(LoopTest, AddRefKeepsRunGoingUntilReleaseRef) {
  Loop loop;
  loop.add_ref();
  EXPECT_TRUE(loop.alive());
  EXPECT_EQ(loop.ref_count(), 1u);
  const auto start = Clock::now();
  // Unreferenced, so only the add_ref() keeps the loop running until it fires.
  auto t = loop.set_timeout(test::must_call([&] { loop.release_ref(); }), 20ms);
  t->unref();
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_GE(since(start), 20ms);
  EXPECT_EQ(loop.ref_count(), 0u);
}

TEST(LoopTest, ReleaseRefInsideACallbackWithWorkLeftKeepsRunning) {
  Loop loop;
  loop.add_ref();
  loop.post([&] {
    loop.release_ref();
    loop.post(test::must_call());
  });
  ASSERT_TRUE(loop.run_for(kLimit));
}

TEST(LoopTest, NestedRefsAllNeedReleasing) {
  Loop loop;
  loop.add_ref();
  loop.add_ref();
  loop.release_ref();
  EXPECT_TRUE(loop.alive());
  EXPECT_FALSE(loop.run_for(10ms));
  loop.release_ref();
  EXPECT_FALSE(loop.alive());
  EXPECT_TRUE(loop.run_for(kLimit));
}

// --- stop ----------------------------------------------------------------------------------------

TEST(LoopTest, StopReturnsFromRunAndALaterRunContinues) {
  Loop loop;
  Log log;
  loop.post([&] {
    log.push_back("a");
    loop.stop();
  });
  loop.post(push(log, "b"));
  Watchdog watchdog(loop);
  loop.run();
  EXPECT_EQ(log, (Log{"a"}));
  EXPECT_TRUE(loop.alive());
  loop.run();
  EXPECT_EQ(log, (Log{"a", "b"}));
  EXPECT_FALSE(loop.alive());
  EXPECT_FALSE(watchdog.expired());
}

TEST(LoopTest, StopLeavesPendingTimersForTheNextRun) {
  Loop loop;
  Log log;
  loop.set_timeout(
      [&] {
        log.push_back("first");
        loop.stop();
      },
      1ms);
  loop.set_timeout(push(log, "second"), 30ms);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"first"}));
  EXPECT_TRUE(loop.alive());
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"first", "second"}));
}

TEST(LoopTest, StopFromAnIntervalThenRunAgain) {
  Loop loop;
  std::shared_ptr<Timer> t;
  int calls = 0;
  t = loop.set_interval(
      [&] {
        ++calls;
        if (calls == 3) t->close();
        loop.stop();
      },
      1ms);
  int runs = 0;
  while (loop.alive() && runs < 10) {
    ASSERT_TRUE(loop.run_for(kLimit));
    ++runs;
  }
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(runs, 3);
}

// --- lifetime ------------------------------------------------------------------------------------

TEST(LoopTest, DestroyingALoopWithPendingWorkRunsNothing) {
  auto state = std::make_shared<int>(0);
  std::weak_ptr<int> watch = state;
  {
    Loop loop;
    loop.post([state] { ++*state; });
    loop.set_timeout([state] { ++*state; }, 1h);
    auto u = loop.set_interval([state] { ++*state; }, 1h);
    u->unref();
    auto held = loop.set_timeout([state] { ++*state; }, 1h);
    held->close();
  }
  EXPECT_EQ(*state, 0);
  state.reset();
  // The callbacks (and what they captured) were released with the loop.
  EXPECT_TRUE(watch.expired());
}

TEST(LoopTest, DestroyingALoopAfterStopWithArmedTimersIsSafe) {
  auto fired = std::make_shared<int>(0);
  {
    Loop loop;
    loop.set_timeout(
        [&loop, fired] {
          ++*fired;
          loop.stop();
        },
        1ms);
    loop.set_interval([fired] { ++*fired; }, 1h);
    auto u = loop.set_timeout([fired] { ++*fired; }, 1h);
    u->unref();
    ASSERT_TRUE(loop.run_for(kLimit));
  }
  EXPECT_EQ(*fired, 1);
  EXPECT_EQ(fired.use_count(), 1);
}

TEST(LoopTest, FiredTimerIsReleasedByTheLoop) {
  Loop loop;
  std::weak_ptr<Timer> watch = loop.set_timeout(test::must_call(), 1ms);
  EXPECT_FALSE(watch.expired());
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(watch.expired());
}

TEST(LoopTest, ClosedTimerIsReleasedByTheLoop) {
  Loop loop;
  std::weak_ptr<Timer> watch;
  {
    auto t = loop.set_interval(test::must_not_call<>(), 1h);
    watch = t;
    t->close();
  }
  // The cancelled wait completes on the loop and lets go of the timer.
  loop.set_timeout(test::must_call(), 1ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace httpx::core
