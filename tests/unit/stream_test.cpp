// Readable, Writable, Duplex and pipe against Node 20's stream module. Every expected order below was
// first produced by a Node script running the same sequence (stream.Writable / stream.Readable /
// stream.Duplex with custom _write/_final/_read; loop.post stands for process.nextTick, a 1 ms
// timer for setTimeout, and a "manual" completion for a _write callback called later from a
// timer). The Node log is quoted in a comment where it is not obvious. Where Node's order is an
// accident of its internals the test leaves that part out (see "Differs from Node" in stream.cpp).
#include "httpx/core/stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "httpx/core/encoding.hpp"
#include "httpx/core/error.hpp"
#include "httpx/core/loop.hpp"
#include "support/support.hpp"

namespace httpx::core {
namespace {

using namespace std::chrono_literals;
using Log = std::vector<std::string>;

// Far more than any test needs; reaching it means the loop did not settle by itself.
constexpr auto kLimit = 5s;

const std::error_code kPipeError = std::make_error_code(std::errc::broken_pipe);  // "EPIPE"
const std::error_code kIoError = std::make_error_code(std::errc::io_error);       // "EIO"

std::string code(std::error_code ec) { return ec ? node_code(ec) : "ok"; }

// test::must_call for a completion or an 'error' listener.
std::function<void(std::error_code)> must_complete(std::function<void(std::error_code)> fn = {}, int expected = 1,
                                                   const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return test::must_call<std::error_code>(std::move(fn), expected, file, line);
}

// A completion that logs "<name>:<code or ok>".
Callback note(Log& log, std::string name) {
  return [&log, name = std::move(name)](std::error_code ec) { log.push_back(name + ":" + code(ec)); };
}

// How a test writable completes do_write(): inside the call, on a 1 ms timer, or when the test
// calls complete().
enum class Completion { sync, timer, manual };

struct WritableConfig {
  std::size_t high_water_mark = 10;
  Completion completion = Completion::sync;
};

// A Writable that logs what it is asked to do ("write:<chunk>", "final") into the test's log.
class TestWritable : public Writable {
 public:
  TestWritable(Loop& loop, Log& log, WritableConfig config)
      : Stream(loop), Writable(WritableOptions{.high_water_mark = config.high_water_mark}), log_(&log),
        completion_(config.completion) {}

  static std::shared_ptr<TestWritable> make(Loop& loop, Log& log, WritableConfig config = {}) {
    return std::make_shared<TestWritable>(loop, log, config);
  }

  std::string written;               // every byte handed to do_write, in order
  std::error_code write_error;       // the next do_write fails with this
  std::error_code final_error;       // do_final fails with this
  bool final_later = false;          // do_final completes on a posted callback
  bool done_twice = false;           // the next synchronous do_write calls done twice
  std::deque<Callback> pending;      // manual completions, oldest first
  std::function<void()> on_write;    // runs inside every do_write

  // Completes the oldest manual write.
  void complete(std::error_code ec = {}) {
    ASSERT_FALSE(pending.empty());
    auto done = std::move(pending.front());
    pending.pop_front();
    done(ec);
  }

 protected:
  void do_write(std::string chunk, Callback done) override {
    log_->push_back("write:" + chunk);
    written += chunk;
    if (on_write) on_write();
    const auto ec = std::exchange(write_error, {});
    switch (completion_) {
      case Completion::sync:
        done(ec);
        if (std::exchange(done_twice, false)) done(ec);
        break;
      case Completion::timer:
        loop().set_timeout([done = std::move(done), ec] { done(ec); }, 1ms);
        break;
      case Completion::manual:
        pending.push_back(std::move(done));
        break;
    }
  }

  void do_final(Callback done) override {
    log_->push_back("final");
    if (final_later) {
      loop().post([done = std::move(done), ec = final_error] { done(ec); });
    } else {
      done(final_error);
    }
  }

  Log* log_;

 private:
  Completion completion_;
};

// A TestWritable with a gather write: logs "writev:<a>|<b>|...".
class GatherWritable : public TestWritable {
 public:
  // Stream is a virtual base: the most-derived class initialises it.
  GatherWritable(Loop& loop, Log& log, WritableConfig config) : Stream(loop), TestWritable(loop, log, config) {}

 protected:
  void do_writev(std::vector<std::string> chunks, Callback done) override {
    std::string joined;
    for (const auto& c : chunks) joined += (joined.empty() ? "" : "|") + c;
    log_->push_back("writev:" + joined);
    written += joined;
    done({});
  }
  bool has_writev() const noexcept override { return true; }
};

// A Readable fed by the test through push()/push_end(); do_read() logs "_read" (when asked to)
// and runs `on_read`.
class TestReadable : public Readable {
 public:
  TestReadable(Loop& loop, Log& log, ReadableOptions options, bool log_reads)
      : Stream(loop), Readable(options), log_(&log), log_reads_(log_reads) {}

  static std::shared_ptr<TestReadable> make(Loop& loop, Log& log, std::size_t hwm = 10, bool log_reads = true) {
    return std::make_shared<TestReadable>(loop, log, ReadableOptions{.high_water_mark = hwm}, log_reads);
  }

  std::size_t reads = 0;                   // how many times do_read() ran
  std::function<void()> on_read;           // what do_read() does

 protected:
  void do_read(std::size_t) override {
    ++reads;
    if (log_reads_) log_->push_back("_read");
    if (on_read) on_read();
  }

 private:
  Log* log_;
  bool log_reads_;
};

// A Duplex whose readable side is fed by the test and whose writable side logs like TestWritable.
class TestDuplex : public Duplex {
 public:
  TestDuplex(Loop& loop, Log& log, DuplexOptions options, Completion completion)
      : Stream(loop), Duplex(options), log_(&log), completion_(completion) {}

  static std::shared_ptr<TestDuplex> make(Loop& loop, Log& log, bool allow_half_open,
                                          Completion completion = Completion::sync) {
    return std::make_shared<TestDuplex>(loop, log, DuplexOptions{.allow_half_open = allow_half_open}, completion);
  }

 protected:
  void do_read(std::size_t) override {}
  void do_write(std::string chunk, Callback done) override {
    log_->push_back("write:" + chunk);
    if (completion_ == Completion::sync) {
      done({});
    } else {
      loop().set_timeout([done = std::move(done)] { done({}); }, 1ms);
    }
  }
  void do_final(Callback done) override {
    log_->push_back("final");
    done({});
  }

 private:
  Log* log_;
  Completion completion_;
};

// Logs the writable-side events of `s` as "<prefix><event>".
void record_writable(Stream& s, Log& log, const std::string& prefix = "") {
  auto& ev = s.events();
  ev.drain.on([&log, prefix] { log.push_back(prefix + "drain"); });
  ev.prefinish.on([&log, prefix] { log.push_back(prefix + "prefinish"); });
  ev.finish.on([&log, prefix] { log.push_back(prefix + "finish"); });
  ev.error.on([&log, prefix](std::error_code ec) { log.push_back(prefix + "error:" + code(ec)); });
  ev.close.on([&log, prefix] { log.push_back(prefix + "close"); });
}

// Logs the readable-side events of `s` (not 'data', which would start the flow).
void record_readable(Stream& s, Log& log, const std::string& prefix = "") {
  auto& ev = s.events();
  ev.pause.on([&log, prefix] { log.push_back(prefix + "pause"); });
  ev.resume.on([&log, prefix] { log.push_back(prefix + "resume"); });
  ev.end.on([&log, prefix] { log.push_back(prefix + "end"); });
  ev.error.on([&log, prefix](std::error_code ec) { log.push_back(prefix + "error:" + code(ec)); });
  ev.close.on([&log, prefix] { log.push_back(prefix + "close"); });
}

void record_data(Stream& s, Log& log, const std::string& prefix = "") {
  s.events().data.on([&log, prefix](std::string_view chunk) { log.push_back(prefix + "data:" + std::string(chunk)); });
}

std::string flags(const Writable& w) {
  return "len:" + std::to_string(w.writable_length()) + " nd:" + (w.writable_need_drain() ? "1" : "0") +
         " corked:" + std::to_string(w.writable_corked()) + " ended:" + (w.writable_ended() ? "1" : "0") +
         " finished:" + (w.writable_finished() ? "1" : "0");
}

std::string ret(bool b) { return b ? "ret:true" : "ret:false"; }

// ---- Writable: write(), the high-water mark and 'drain' ------------------------------------------

TEST(WritableTest, WriteReturnsFalseOnceTheBufferReachesTheHighWaterMark) {
  // Node (hwm 10, _write completing later): write('abcde') true, write('fghij') false with
  // writableLength 10 and writableNeedDrain true, write('k') false.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::manual});
  EXPECT_EQ(w->writable_high_water_mark(), 10u);
  log.push_back(ret(w->write("abcde")));
  log.push_back(flags(*w));
  log.push_back(ret(w->write("fghij")));
  log.push_back(flags(*w));
  log.push_back(ret(w->write("k")));
  log.push_back(flags(*w));
  EXPECT_EQ(log, (Log{"write:abcde", "ret:true", "len:5 nd:0 corked:0 ended:0 finished:0", "ret:false",
                      "len:10 nd:1 corked:0 ended:0 finished:0", "ret:false",
                      "len:11 nd:1 corked:0 ended:0 finished:0"}));
  while (!w->pending.empty()) {
    w->complete();
    EXPECT_TRUE(loop.run_for(kLimit));
  }
}

TEST(WritableTest, EmitsDrainOnceBufferEmpties) {
  // Node: ["_write:abcde","ret:true","ret:false","ret:false","_write:fghij","cb1","_write:k","cb2",
  //        "drain","cb3"] — without _writev the queued chunks go one by one, each callback after
  // its own chunk, and 'drain' (before the last callback) only when nothing is left.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::manual});
  record_writable(*w, log);
  log.push_back(ret(w->write("abcde", note(log, "cb1"))));
  log.push_back(ret(w->write("fghij", note(log, "cb2"))));
  log.push_back(ret(w->write("k", note(log, "cb3"))));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back(flags(*w));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back(flags(*w));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back(flags(*w));
  EXPECT_EQ(log, (Log{"write:abcde", "ret:true", "ret:false", "ret:false", "write:fghij", "cb1:ok",
                      "len:6 nd:1 corked:0 ended:0 finished:0", "write:k", "cb2:ok",
                      "len:1 nd:1 corked:0 ended:0 finished:0", "drain", "cb3:ok",
                      "len:0 nd:0 corked:0 ended:0 finished:0"}));
}

TEST(WritableTest, DrainIsNotEmittedWhenWriteNeverReturnedFalse) {
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::manual});
  w->events().drain.on(test::must_not_call<>());
  EXPECT_TRUE(w->write("abc"));
  EXPECT_TRUE(w->write("def"));
  w->complete();
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(w->writable_length(), 0u);
}

TEST(WritableTest, DrainIsEmittedAgainAfterEachFalse) {
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::timer});
  w->events().drain.on(test::must_call(nullptr, 2));
  EXPECT_FALSE(w->write("0123456789"));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(w->writable_need_drain());
  EXPECT_TRUE(w->write("short"));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_FALSE(w->write("0123456789abc"));
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(WritableTest, CallbacksNeverRunInsideWrite) {
  // Node (_write completing synchronously): ["_write:abcde","ret:true","len:0","_write:fghij",
  // "ret:true","len:0","cb1","cb2"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  log.push_back(ret(w->write("abcde", note(log, "cb1"))));
  log.push_back(flags(*w));
  log.push_back(ret(w->write("fghij", note(log, "cb2"))));
  log.push_back(flags(*w));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:abcde", "ret:true", "len:0 nd:0 corked:0 ended:0 finished:0", "write:fghij",
                      "ret:true", "len:0 nd:0 corked:0 ended:0 finished:0", "cb1:ok", "cb2:ok"}));
}

TEST(WritableTest, CallbacksOfSynchronousWritesRunInWriteOrderAcrossTicks) {
  // Node: each write that completed inside _write gets its own afterWriteTick, in order; a write
  // made from one of those callbacks queues behind the ticks already pending.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  w->write("a", [&](std::error_code) {
    log.push_back("cb1");
    w->write("d", note(log, "cb4"));
  });
  w->write("b", note(log, "cb2"));
  w->write("c", note(log, "cb3"));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "write:b", "write:c", "cb1", "write:d", "cb2:ok", "cb3:ok", "cb4:ok"}));
}

TEST(WritableTest, WriteCompletedInsideTheCallDoesNotCountAgainstTheHighWaterMark) {
  // Node: write() answers from the length after a synchronous _write called back, so a chunk of
  // exactly the high-water mark returns true and no 'drain' follows.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  log.push_back(ret(w->write("0123456789")));
  EXPECT_FALSE(w->writable_need_drain());
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:0123456789", "ret:true"}));
}

TEST(WritableTest, EmptyWriteWithZeroHighWaterMarkReturnsTrue) {
  // Node (hwm 0, _write completing later): write('') true, write('a') false; ret is
  // length < hwm || length === 0.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.high_water_mark = 0, .completion = Completion::manual});
  EXPECT_TRUE(w->write(""));
  EXPECT_FALSE(w->write("a"));
  EXPECT_EQ(w->writable_length(), 1u);
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
}

// ---- Writable: cork / uncork ----------------------------------------------------------------------

TEST(WritableTest, CorkBatchesWritesIntoOneWritev) {
  // Node: ["corked:1","corked:2","after1 corked:1 len:3","_writev:a|b|c","after2 corked:0 len:0",
  //        "cba","cbb","cbc"].
  Loop loop;
  Log log;
  auto w = std::make_shared<GatherWritable>(loop, log, WritableConfig{});
  w->cork();
  log.push_back("corked:" + std::to_string(w->writable_corked()));
  w->write("a", note(log, "cba"));
  w->write("b", note(log, "cbb"));
  w->cork();
  log.push_back("corked:" + std::to_string(w->writable_corked()));
  w->write("c", note(log, "cbc"));
  w->uncork();
  log.push_back(flags(*w));
  w->uncork();
  log.push_back(flags(*w));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"corked:1", "corked:2", "len:3 nd:0 corked:1 ended:0 finished:0", "writev:a|b|c",
                      "len:0 nd:0 corked:0 ended:0 finished:0", "cba:ok", "cbb:ok", "cbc:ok"}));
}

TEST(WritableTest, UncorkWithoutWritevWritesTheChunksOneByOne) {
  // Node (no _writev): ["_write:a","_write:b","after len:0","cba","cbb"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  w->cork();
  w->write("a", note(log, "cba"));
  w->write("b", note(log, "cbb"));
  w->uncork();
  log.push_back(flags(*w));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "write:b", "len:0 nd:0 corked:0 ended:0 finished:0", "cba:ok", "cbb:ok"}));
}

TEST(WritableTest, UncorkOfManyChunksWritesThemAllInsideTheCall) {
  // Node (no _writev, _write completing synchronously): uncork() after 10000 corked writes hands
  // all of them on before it returns ("n:10000 len:0"); the callbacks follow in order. A loop, so
  // a long queue does not grow the stack.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  std::vector<int> order;
  w->cork();
  for (int i = 0; i < 10000; ++i) w->write("ab", [&order, i](std::error_code) { order.push_back(i); });
  w->uncork();
  EXPECT_EQ(log.size(), 10000u);
  EXPECT_EQ(w->writable_length(), 0u);
  EXPECT_TRUE(order.empty());
  EXPECT_TRUE(loop.run_for(kLimit));
  ASSERT_EQ(order.size(), 10000u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

TEST(WritableTest, WritesQueuedBehindAPendingWriteGoOutInOneWritev) {
  // Node (_writev defined, first _write completing later): ["_write:a","_writev:b|c","cba","cbb",
  // "cbc"].
  Loop loop;
  Log log;
  auto w = std::make_shared<GatherWritable>(loop, log, WritableConfig{.completion = Completion::manual});
  w->write("a", note(log, "cba"));
  w->write("b", note(log, "cbb"));
  w->write("c", note(log, "cbc"));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "writev:b|c", "cba:ok", "cbb:ok", "cbc:ok"}));
}

TEST(WritableTest, EndUncorksFully) {
  Loop loop;
  Log log;
  auto w = std::make_shared<GatherWritable>(loop, log, WritableConfig{});
  record_writable(*w, log);
  w->cork();
  w->cork();
  w->write("a");
  w->write("b");
  w->end();
  EXPECT_EQ(w->writable_corked(), 0u);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"writev:a|b", "final", "prefinish", "finish", "close"}));
}

TEST(WritableTest, ExtraUncorkDoesNothing) {
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  w->uncork();
  EXPECT_EQ(w->writable_corked(), 0u);
  w->cork();
  w->write("a");
  EXPECT_EQ(log, Log{});
  w->uncork();
  w->uncork();
  EXPECT_EQ(log, Log{"write:a"});
  EXPECT_TRUE(loop.run_for(kLimit));
}

// ---- Writable: end() -----------------------------------------------------------------------------

TEST(WritableTest, EndEmitsPrefinishThenFinishThenClose) {
  // Node: ["_final","prefinish","ended:true fin:false","endcb","finish","fin:true destroyed:false",
  //        "close","closed:true"] — _final and 'prefinish' run inside end().
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  EXPECT_TRUE(w->writable());
  w->end(must_complete([&](std::error_code ec) { log.push_back("endcb:" + code(ec)); }));
  log.push_back(flags(*w));
  EXPECT_FALSE(w->writable());
  w->events().finish.on([&] { log.push_back(flags(*w) + (w->destroyed() ? " destroyed" : " alive")); });
  w->events().close.on([&] { log.push_back(w->closed() ? "closed:1" : "closed:0"); });
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"final", "prefinish", "len:0 nd:0 corked:0 ended:1 finished:0", "endcb:ok", "finish",
                      "len:0 nd:0 corked:0 ended:1 finished:1 alive", "close", "closed:1"}));
  EXPECT_TRUE(w->destroyed());
  EXPECT_FALSE(w->errored());
}

TEST(WritableTest, EndWithAChunkWritesItFirst) {
  // Node: ["_write:xyz","ended:true len:3","_final","prefinish","endcb","finish","close"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::timer});
  record_writable(*w, log);
  w->end("xyz", note(log, "endcb"));
  log.push_back(flags(*w));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:xyz", "len:3 nd:0 corked:0 ended:1 finished:0", "final", "prefinish", "endcb:ok",
                      "finish", "close"}));
}

TEST(WritableTest, EveryEndCallbackRunsBeforeFinish) {
  // Node: ["prefinish","end1","end2","finish","close"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::timer});
  record_writable(*w, log);
  w->write("a");
  w->end(note(log, "end1"));
  w->end(note(log, "end2"));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "final", "prefinish", "end1:ok", "end2:ok", "finish", "close"}));
}

TEST(WritableTest, FinishWaitsForAnAsynchronousFinal) {
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  w->final_later = true;
  record_writable(*w, log);
  w->end(note(log, "endcb"));
  log.push_back("after end");
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"final", "after end", "prefinish", "endcb:ok", "finish", "close"}));
}

TEST(WritableTest, EndTextUsesItsEncoding) {
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  w->end("aGk=", Encoding::base64);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(w->written, "hi");
  EXPECT_TRUE(w->writable_finished());
}

// ---- Writable: misuse and failures ----------------------------------------------------------------

TEST(WritableTest, WriteAfterEndFailsWithWriteAfterEnd) {
  // Node: ["prefinish","ret:false","destroyed:true errored:ERR_STREAM_WRITE_AFTER_END",
  //        "cb:ERR_STREAM_WRITE_AFTER_END","error:ERR_STREAM_WRITE_AFTER_END","close"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  w->end();
  log.push_back(ret(w->write("a", note(log, "cb"))));
  log.push_back(std::string(w->destroyed() ? "destroyed " : "alive ") + code(w->errored()));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"final", "prefinish", "ret:false", "destroyed ERR_STREAM_WRITE_AFTER_END",
                      "cb:ERR_STREAM_WRITE_AFTER_END", "error:ERR_STREAM_WRITE_AFTER_END", "close"}));
}

TEST(WritableTest, WriteAfterEndFailsThePendingEndCallbackToo) {
  // Node (first write still pending): ["ret:false","destroyed:true",
  //   "cb:ERR_STREAM_WRITE_AFTER_END","error:ERR_STREAM_WRITE_AFTER_END","close","cbx:ok",
  //   "endcb:ERR_STREAM_WRITE_AFTER_END"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::manual});
  record_writable(*w, log);
  w->write("x", note(log, "cbx"));
  w->end(note(log, "endcb"));
  log.push_back(ret(w->write("a", note(log, "cb"))));
  log.push_back(w->destroyed() ? "destroyed" : "alive");
  EXPECT_TRUE(loop.run_for(kLimit));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:x", "ret:false", "destroyed", "cb:ERR_STREAM_WRITE_AFTER_END",
                      "error:ERR_STREAM_WRITE_AFTER_END", "close", "cbx:ok", "endcb:ERR_STREAM_WRITE_AFTER_END"}));
}

TEST(WritableTest, EndAfterFinishFailsWithAlreadyFinished) {
  // Node: ["prefinish","finish","after end2","end2:ERR_STREAM_ALREADY_FINISHED","close"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  w->end();
  w->events().finish.on([&] {
    w->end(note(log, "end2"));
    log.push_back("after end2");
  });
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"final", "prefinish", "finish", "after end2", "end2:ERR_STREAM_ALREADY_FINISHED", "close"}));
}

TEST(WritableTest, WriteAfterDestroyFailsWithDestroyedAndNoError) {
  // Node: ["ret:false","close","cb:ERR_STREAM_DESTROYED"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  w->destroy();
  log.push_back(ret(w->write("a", note(log, "cb"))));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"ret:false", "close", "cb:ERR_STREAM_DESTROYED"}));
  EXPECT_FALSE(w->errored());
}

TEST(WritableTest, SynchronousWriteErrorFailsTheQueueOnALaterTick) {
  // Node: ["ret:false","ret:false","destroyed:false","cb1:EPIPE","cb2:EPIPE","error:EPIPE","close"]:
  // the stream is errored at once (the second write is queued and answered false) and destroyed
  // on the next tick; queued writes hear the same error.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  w->write_error = kPipeError;
  log.push_back(ret(w->write("a", note(log, "cb1"))));
  log.push_back(ret(w->write("b", note(log, "cb2"))));
  log.push_back(std::string(w->destroyed() ? "destroyed " : "alive ") + code(w->errored()));
  EXPECT_FALSE(w->writable());
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "ret:false", "ret:false", "alive EPIPE", "cb1:EPIPE", "cb2:EPIPE", "error:EPIPE",
                      "close"}));
  EXPECT_EQ(w->errored(), kPipeError);
  EXPECT_EQ(w->writable_length(), 0u);
}

TEST(WritableTest, AsynchronousWriteErrorFailsQueuedWritesAndTheEndCallback) {
  // Node: ["ret:true","ret:true","cb1:EPIPE","cb2:EPIPE","endcb:EPIPE","error:EPIPE","close"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::manual});
  record_writable(*w, log);
  log.push_back(ret(w->write("a", note(log, "cb1"))));
  log.push_back(ret(w->write("b", note(log, "cb2"))));
  w->end(note(log, "endcb"));
  w->complete(kPipeError);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "ret:true", "ret:true", "cb1:EPIPE", "cb2:EPIPE", "endcb:EPIPE", "error:EPIPE",
                      "close"}));
  EXPECT_FALSE(w->writable_finished());
}

TEST(WritableTest, WriteErrorIsEmittedOnce) {
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::manual});
  w->events().error.on(must_complete([](std::error_code ec) { EXPECT_EQ(ec, kIoError); }));
  w->events().close.on(test::must_call());
  w->write("a");
  w->complete(kIoError);
  w->destroy(kPipeError);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(w->errored(), kIoError);
}

TEST(WritableTest, SynchronousFinalErrorFailsTheEndCallbackAfterClose) {
  // Node: ["after end","cb1:ok","error:EIO","close","endcb:EIO"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  w->final_error = kIoError;
  w->write("a", note(log, "cb1"));
  w->end(note(log, "endcb"));
  log.push_back("after end");
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "final", "after end", "cb1:ok", "error:EIO", "close", "endcb:EIO"}));
  EXPECT_FALSE(w->writable_finished());
}

TEST(WritableTest, AsynchronousFinalErrorFailsTheEndCallbackFirst) {
  // Node: ["after end","endcb:EIO","error:EIO","close"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  w->final_error = kIoError;
  w->final_later = true;
  w->end(note(log, "endcb"));
  log.push_back("after end");
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"final", "after end", "endcb:EIO", "error:EIO", "close"}));
}

TEST(WritableTest, WriteCallbackCalledTwiceSynchronouslyIsMultipleCallback) {
  // Node: ["ret:false","cb1","error:ERR_MULTIPLE_CALLBACK","close"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  w->done_twice = true;
  log.push_back(ret(w->write("a", note(log, "cb1"))));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "ret:false", "cb1:ok", "error:ERR_MULTIPLE_CALLBACK", "close"}));
}

TEST(WritableTest, WriteCallbackCalledTwiceLaterIsMultipleCallback) {
  // Node: ["ret:true","cb1","error:ERR_MULTIPLE_CALLBACK","close"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::manual});
  record_writable(*w, log);
  log.push_back(ret(w->write("a", note(log, "cb1"))));
  auto done = w->pending.front();
  w->pending.clear();
  done({});
  done({});
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "ret:true", "cb1:ok", "error:ERR_MULTIPLE_CALLBACK", "close"}));
}

TEST(WritableTest, DestroyFailsQueuedWritesAndEndCallbacks) {
  // Node: ["close","cb1","cb2:ERR_STREAM_DESTROYED","endcb:ERR_STREAM_DESTROYED"] — the write in
  // progress completes normally, then the queue is failed.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::manual});
  record_writable(*w, log);
  w->write("a", note(log, "cb1"));
  w->write("b", note(log, "cb2"));
  w->end(note(log, "endcb"));
  w->destroy();
  EXPECT_TRUE(loop.run_for(kLimit));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "close", "cb1:ok", "cb2:ERR_STREAM_DESTROYED", "endcb:ERR_STREAM_DESTROYED"}));
}

TEST(WritableTest, DestroyWithAnErrorFailsTheQueueWithThatError) {
  // Node: ["error:EIO","close","cb1","cb2:EIO","endcb:EIO"].
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.completion = Completion::manual});
  record_writable(*w, log);
  w->write("a", note(log, "cb1"));
  w->write("b", note(log, "cb2"));
  w->end(note(log, "endcb"));
  w->destroy(kIoError);
  EXPECT_TRUE(loop.run_for(kLimit));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "error:EIO", "close", "cb1:ok", "cb2:EIO", "endcb:EIO"}));
}

TEST(WritableTest, DestroyWhileIdleFailsCorkedWritesBeforeClose) {
  // Node: ["cb:ERR_STREAM_DESTROYED","close"] — nothing is being written, so the queue is failed
  // on a tick that destroy() queues before the one that emits 'close'.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log);
  w->cork();
  w->write("a", note(log, "cb"));
  w->destroy();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"cb:ERR_STREAM_DESTROYED", "close"}));
  EXPECT_EQ(w->written, "");
}

// ---- Writable: encodings -------------------------------------------------------------------------

TEST(WritableTest, TextChunksAreConvertedWithTheirEncoding) {
  // Node: write('68656c6c6f','hex') → <68 65 6c 6c 6f>, write('aGk=','base64') → 'hi',
  // write('é','latin1') → <e9>, write('é') → <c3 a9>; writableLength counts bytes.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.high_water_mark = 100, .completion = Completion::manual});
  EXPECT_TRUE(w->write("68656c6c6f", Encoding::hex, must_complete()));
  EXPECT_EQ(w->writable_length(), 5u);
  EXPECT_TRUE(w->write("aGk=", Encoding::base64));
  EXPECT_TRUE(w->write("\xc3\xa9", Encoding::latin1));
  EXPECT_TRUE(w->write("\xc3\xa9", Encoding::utf8));
  EXPECT_EQ(w->writable_length(), 5u + 2u + 1u + 2u);
  while (!w->pending.empty()) {
    w->complete();
    EXPECT_TRUE(loop.run_for(kLimit));
  }
  EXPECT_EQ(w->written, "hellohi\xe9\xc3\xa9");
  EXPECT_EQ(log, (Log{"write:hello", "write:hi", "write:\xe9", "write:\xc3\xa9"}));
}

// ---- Readable: flowing, pause/resume, backpressure ------------------------------------------------

TEST(ReadableTest, DataListenerStartsTheFlowOnALaterTick) {
  // Node: ["flowing:null paused:false","flowing:true paused:false","push:true","len:2","_read",
  //        "resume","data:ab","data:cd","push:true","ended:false","end","close"].
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log);
  record_readable(*r, log);
  auto state = [&] {
    const auto f = r->readable_flowing();
    return std::string("flowing:") + (f ? (*f ? "true" : "false") : "null") + " paused:" +
           (r->is_paused() ? "true" : "false");
  };
  log.push_back(state());
  record_data(*r, log);
  log.push_back(state());
  log.push_back(r->push("ab") ? "push:true" : "push:false");
  log.push_back("len:" + std::to_string(r->readable_length()));
  loop.post([&] {
    log.push_back(r->push("cd") ? "push:true" : "push:false");
    r->push_end();
    log.push_back(r->readable_ended() ? "ended:true" : "ended:false");
  });
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"flowing:null paused:false", "flowing:true paused:false", "push:true", "len:2", "_read",
                      "resume", "data:ab", "data:cd", "push:true", "ended:false", "end", "close"}));
}

TEST(ReadableTest, PauseAndResumeEmitTheirEventsOnce) {
  // Node: resume(); pause(); resume() → ["pause","sync","_read","resume"]; later pause(); pause();
  // resume(); push(null) → ["pause","resume","end","close"].
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log);
  record_readable(*r, log);
  r->resume();
  r->pause();
  EXPECT_TRUE(r->is_paused());
  r->resume();
  EXPECT_FALSE(r->is_paused());
  log.push_back("sync");
  EXPECT_TRUE(loop.run_for(kLimit));
  r->pause();
  r->pause();
  r->resume();
  r->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"pause", "sync", "_read", "resume", "pause", "resume", "end", "close"}));
}

TEST(ReadableTest, PausedStreamStopsReadingAtTheHighWaterMark) {
  // Node (_read pushing 4 bytes on the next tick, paused, 'yy' pushed first): ["pause","_read",
  // "push:true len:6","_read","push:false len:10"] and then no _read until resume().
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log);
  record_readable(*r, log);
  r->on_read = [&] {
    loop.post([&] {
      const bool ok = r->push("xxxx");
      log.push_back(std::string(ok ? "push:true" : "push:false") + " len:" + std::to_string(r->readable_length()));
    });
  };
  r->pause();
  r->push("yy");
  EXPECT_TRUE(loop.run_for(kLimit));  // settles: nothing asks for more
  EXPECT_EQ(log, (Log{"pause", "_read", "push:true len:6", "_read", "push:false len:10"}));
  EXPECT_EQ(r->reads, 2u);
  EXPECT_EQ(r->readable_length(), 10u);

  // resume(): the buffer flows out in order and reading starts again.
  std::string got;
  r->events().data.on([&](std::string_view chunk) {
    got += chunk;
    if (got.size() >= 30) r->pause();
  });
  r->resume();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_GT(r->reads, 2u);
  EXPECT_EQ(got.substr(0, 10), "yyxxxxxxxx");
  EXPECT_GE(got.size(), 30u);
  EXPECT_EQ(got.find_first_not_of('x', 2), std::string::npos);
}

TEST(ReadableTest, PushReturnsFalseAtTheHighWaterMarkWhilePaused) {
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  r->pause();
  EXPECT_TRUE(r->push("12345"));
  EXPECT_FALSE(r->push("67890"));
  EXPECT_FALSE(r->push("x"));
  EXPECT_EQ(r->readable_length(), 11u);
  EXPECT_EQ(r->readable_high_water_mark(), 10u);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(r->reads, 0u);
}

TEST(ReadableTest, DataAttachedToAPausedStreamWaitsForResume) {
  // Node: pause(); on('data'); push('a') → ["pause","flowing:false","_read"]; resume() → data:a,
  // resume.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log);
  record_readable(*r, log);
  r->pause();
  record_data(*r, log);
  r->push("a");
  log.push_back(r->readable_flowing() == std::optional<bool>(false) ? "flowing:false" : "flowing:?");
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back("len:" + std::to_string(r->readable_length()));
  r->resume();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"pause", "flowing:false", "_read", "len:1", "resume", "data:a"}));
}

// ---- Readable: end, errors, encoding --------------------------------------------------------------

TEST(ReadableTest, EndComesOnTheTickAfterTheLastDataThenClose) {
  // Node (flowing, pushes from a timer): ["_read","resume","data:a","push:true","data:b",
  // "ended:false","end","tick","close"].
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log);
  record_readable(*r, log);
  record_data(*r, log);
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back(r->push("a") ? "push:true" : "push:false");
  r->push("b");
  r->push_end();
  log.push_back(r->readable_ended() ? "ended:true" : "ended:false");
  EXPECT_TRUE(r->readable());
  loop.post([&] { log.push_back("tick"); });
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"_read", "resume", "data:a", "push:true", "data:b", "ended:false", "end", "tick", "close"}));
  EXPECT_TRUE(r->readable_ended());
  EXPECT_FALSE(r->readable());
}

TEST(ReadableTest, EndWaitsUntilTheBufferedDataWasConsumed) {
  // Node: pause(); push('a'); push(null) → nothing more; resume() → ["resume","data:a","end",
  // "close"].
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  r->pause();
  r->push("a");
  r->push_end();
  record_readable(*r, log);
  record_data(*r, log);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, Log{});
  EXPECT_FALSE(r->readable_ended());
  r->resume();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"resume", "data:a", "end", "close"}));
}

TEST(ReadableTest, InsideTheEndListenerTheStreamIsNotYetDestroyed) {
  // Node: in 'end', readable false, readableEnded true, destroyed false; 'close' follows.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  r->events().data.on([](std::string_view) {});
  r->push_end();
  r->events().end.on(test::must_call([&] {
    EXPECT_FALSE(r->readable());
    EXPECT_TRUE(r->readable_ended());
    EXPECT_FALSE(r->destroyed());
  }));
  r->events().close.on(test::must_call([&] { EXPECT_TRUE(r->destroyed()); }));
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(ReadableTest, PushAfterEndDestroysWithPushAfterEof) {
  // Node: ["_read","resume","data:a","push:true","ret:false","destroyed:true",
  //        "error:ERR_STREAM_PUSH_AFTER_EOF","close"] — and no 'end'.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log);
  record_readable(*r, log);
  record_data(*r, log);
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back(r->push("a") ? "push:true" : "push:false");
  r->push_end();
  log.push_back(r->push("b") ? "ret:true" : "ret:false");
  log.push_back(r->destroyed() ? "destroyed:true" : "destroyed:false");
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"_read", "resume", "data:a", "push:true", "ret:false", "destroyed:true",
                      "error:ERR_STREAM_PUSH_AFTER_EOF", "close"}));
}

TEST(ReadableTest, DestroyWithAnErrorEmitsErrorThenCloseAndNoEnd) {
  // Node: ["_read","resume","data:a","errored:EIO","errored:EIO","error:EIO","close"].
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log);
  record_readable(*r, log);
  record_data(*r, log);
  EXPECT_TRUE(loop.run_for(kLimit));
  r->push("a");
  r->destroy(kIoError);
  EXPECT_FALSE(r->push("b"));
  r->push_end();
  log.push_back("errored:" + code(r->errored()));
  EXPECT_FALSE(r->readable());
  r->destroy();
  r->destroy(kPipeError);
  log.push_back("errored:" + code(r->errored()));
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"_read", "resume", "data:a", "errored:EIO", "errored:EIO", "error:EIO", "close"}));
}

TEST(ReadableTest, DestroyDropsBufferedData) {
  // Node: ["pause","close","resume"] — no 'data' after destroy. Differs from Node: we emit nothing
  // after 'close', so the late 'resume' is not there.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  record_readable(*r, log);
  r->pause();
  r->push("abc");
  record_data(*r, log);
  r->destroy();
  r->resume();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"pause", "close"}));
}

TEST(ReadableTest, SetEncodingDecodesACharacterSplitAcrossPushes) {
  // Node: setEncoding('utf8'); push <61 e2>, <82>, <ac 62>, <e2 82>, null →
  // ["resume","data:a","data:€b","data:\ufffd","end","close"].
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log);
  record_readable(*r, log);
  r->set_encoding(Encoding::utf8);
  record_data(*r, log);
  r->push("a\xe2");
  r->push("\x82");
  r->push("\xac" "b");
  r->push("\xe2\x82");
  r->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"resume", "data:a", "data:\xe2\x82\xac" "b", "data:\xef\xbf\xbd", "end", "close"}));
}

TEST(ReadableTest, EncodingOptionDecodesHex) {
  // Node: new Readable({encoding: 'hex'}); push <01 ff>, <10> → 'data' "01ff", "10".
  Loop loop;
  Log log;
  auto r = std::make_shared<TestReadable>(loop, log, ReadableOptions{.high_water_mark = 10, .encoding = Encoding::hex},
                                          false);
  record_data(*r, log);
  r->push("\x01\xff");
  r->push("\x10");
  r->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"data:01ff", "data:10"}));
}

// ---- pipe ----------------------------------------------------------------------------------------

TEST(PipeTest, DeliversDataInOrderAndEndsTheDestination) {
  // Node: ["src-resume","w:a","src-end","src-close","w:b","final","dest-prefinish","dest-finish",
  //        "src-pause","dest-close"] — the destination's 'finish' unpipes, which pauses the source.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  auto w = TestWritable::make(loop, log, {.high_water_mark = 100, .completion = Completion::timer});
  record_readable(*r, log, "src-");
  record_writable(*w, log, "dest-");
  EXPECT_EQ(r->pipe(w), w);
  r->push("a");
  r->push("b");
  r->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"src-resume", "write:a", "src-end", "src-close", "write:b", "final", "dest-prefinish",
                      "dest-finish", "src-pause", "dest-close"}));
  EXPECT_EQ(w->written, "ab");
}

TEST(PipeTest, EndFalseLeavesTheDestinationOpen) {
  // Node: ["src-resume","w:a","src-end","src-pause","src-close","w:b"], writableEnded false: with
  // end false, the source's 'end' unpipes.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  auto w = TestWritable::make(loop, log, {.high_water_mark = 100, .completion = Completion::timer});
  record_readable(*r, log, "src-");
  record_writable(*w, log, "dest-");
  r->pipe(w, {.end = false});
  r->push("a");
  r->push("b");
  r->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"src-resume", "write:a", "src-end", "src-pause", "src-close", "write:b"}));
  EXPECT_FALSE(w->writable_ended());
  EXPECT_TRUE(w->writable());
}

TEST(PipeTest, FastSourceWaitsForASlowDestination) {
  // Node (hwm 8 on both sides, 40 chunks of 2 bytes produced synchronously, _write taking 1 ms):
  // the source pauses on each false write and resumes on 'drain'; at most 14 bytes sit in the two
  // buffers together.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 8, false);
  auto w = TestWritable::make(loop, log, {.high_water_mark = 8, .completion = Completion::timer});
  std::string expected;
  int produced = 0;
  r->on_read = [&] {
    if (produced == 40) {
      r->push_end();
      return;
    }
    const std::string chunk(2, static_cast<char>('0' + produced++ % 10));
    expected += chunk;
    r->push(chunk);
  };
  std::size_t max_buffered = 0;
  w->on_write = [&] { max_buffered = std::max(max_buffered, r->readable_length() + w->writable_length()); };
  Log events;
  record_readable(*r, events, "src-");
  w->events().drain.on([&] { events.push_back("dest-drain"); });
  w->events().finish.on(test::must_call());
  r->pipe(w);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(w->written, expected);
  EXPECT_EQ(expected.size(), 80u);
  EXPECT_LE(max_buffered, 2 * 8u);
  // Each 'drain' resumes the paused source.
  const auto count = [&](const std::string& name) { return std::count(events.begin(), events.end(), name); };
  EXPECT_GE(count("src-pause"), 3);
  EXPECT_GE(count("dest-drain"), 3);
  EXPECT_EQ(count("src-resume"), count("src-pause"));
  EXPECT_EQ(events.back(), "src-close");
}

TEST(PipeTest, DestinationWaitingForDrainStartsThePipePaused) {
  // Node: ["write:abcd","ret:false","src-pause","src-resume","len:2","dest-drain","src-resume",
  //        "write:x","write:y"] — the 'data' listener of pipe() schedules a resume whose 'resume'
  // event still fires, but nothing flows until the destination drains.
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log, {.high_water_mark = 4, .completion = Completion::manual});
  w->events().drain.on([&] { log.push_back("dest-drain"); });
  log.push_back(ret(w->write("abcd")));
  auto r = TestReadable::make(loop, log, 10, false);
  record_readable(*r, log, "src-");
  r->pipe(w);
  r->push("x");
  r->push("y");
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back("len:" + std::to_string(r->readable_length()));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:abcd", "ret:false", "src-pause", "src-resume", "len:2", "dest-drain", "src-resume",
                      "write:x", "write:y"}));
  // A pending completion holds the stream; let it go.
  w->complete();
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(PipeTest, PipingAnEndedSourceEndsTheDestination) {
  // Node: ["src-end","ended:true","piped","final","dest-finish","wended:true"].
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  auto w = TestWritable::make(loop, log);
  w->events().finish.on([&] { log.push_back("dest-finish"); });
  r->events().end.on([&] { log.push_back("src-end"); });
  r->resume();
  r->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back(r->readable_ended() ? "ended:true" : "ended:false");
  r->pipe(w);
  log.push_back("piped");
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_TRUE(w->writable_ended());
  EXPECT_EQ(log, (Log{"src-end", "ended:true", "piped", "final", "dest-finish"}));
}

TEST(PipeTest, UnpipeStopsTheFlow) {
  // Node: ["src-resume","w:a","src-pause","flowing:false data listeners:0"], then 'b' stays
  // buffered and the destination is not ended.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  auto w = TestWritable::make(loop, log, {.high_water_mark = 100, .completion = Completion::timer});
  record_readable(*r, log, "src-");
  record_writable(*w, log, "dest-");
  r->pipe(w);
  r->push("a");
  EXPECT_TRUE(loop.run_for(kLimit));
  r->unpipe(w);
  log.push_back(std::string("flowing:") + (r->readable_flowing() == std::optional<bool>(false) ? "false" : "?") +
                " data listeners:" + std::to_string(r->events().data.listener_count()));
  r->push("b");
  r->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"src-resume", "write:a", "src-pause", "flowing:false data listeners:0"}));
  EXPECT_EQ(r->readable_length(), 1u);
  EXPECT_FALSE(w->writable_ended());
}

TEST(PipeTest, UnpipeWithoutADestinationRemovesAll) {
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  auto w1 = TestWritable::make(loop, log);
  auto w2 = TestWritable::make(loop, log);
  r->pipe(w1);
  r->pipe(w2);
  r->push("a");
  EXPECT_TRUE(loop.run_for(kLimit));
  r->unpipe();
  r->push("b");
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "write:a"}));
  EXPECT_TRUE(r->is_paused());
}

TEST(PipeTest, DestinationErrorUnpipes) {
  // Node (_write failing synchronously): ["src-resume","w:a","src-pause","dest-error:EPIPE",
  // "dest-close","pipes:0 flowing:false"]; a later push stays in the source.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  auto w = TestWritable::make(loop, log);
  w->write_error = kPipeError;
  record_readable(*r, log, "src-");
  record_writable(*w, log, "dest-");
  r->pipe(w);
  r->push("a");
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back(std::string("flowing:") + (r->readable_flowing() == std::optional<bool>(false) ? "false" : "?"));
  r->push("b");
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"src-resume", "write:a", "src-pause", "dest-error:EPIPE", "dest-close", "flowing:false"}));
  EXPECT_EQ(r->readable_length(), 1u);
  EXPECT_EQ(r->events().data.listener_count(), 0u);
}

TEST(PipeTest, DestinationErrorNobodyListensForIsThrown) {
  // Node rethrows a destination's error when the pipe's own listener was the only one.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  auto w = TestWritable::make(loop, log);
  w->write_error = kPipeError;
  r->pipe(w);
  r->push("a");
  EXPECT_THROW(loop.run_for(kLimit), Error);
}

TEST(PipeTest, DestinationFinishUnpipes) {
  // Node: a destination ended by someone else is unpiped on 'finish', so later data stays in the
  // source instead of failing with write-after-end.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  auto w = TestWritable::make(loop, log);
  record_writable(*w, log, "dest-");
  r->pipe(w);
  r->push("a");
  EXPECT_TRUE(loop.run_for(kLimit));
  w->end();
  EXPECT_TRUE(loop.run_for(kLimit));
  r->push("b");
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:a", "final", "dest-prefinish", "dest-finish", "dest-close"}));
  EXPECT_EQ(r->readable_length(), 1u);
}

// ---- Duplex --------------------------------------------------------------------------------------

TEST(DuplexTest, WithoutHalfOpenTheEndOfTheInputEndsTheOutput) {
  // Node (allowHalfOpen false): ["sync","resume","data:a","tick1","end","_final","prefinish",
  //        "finish","close"].
  Loop loop;
  Log log;
  auto d = TestDuplex::make(loop, log, false);
  EXPECT_FALSE(d->allow_half_open());
  record_readable(*d, log);
  d->events().prefinish.on([&] { log.push_back("prefinish"); });
  d->events().finish.on([&] { log.push_back("finish"); });
  record_data(*d, log);
  d->push("a");
  d->push_end();
  log.push_back("sync");
  loop.post([&] { log.push_back("tick1"); });
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"sync", "resume", "data:a", "tick1", "end", "final", "prefinish", "finish", "close"}));
}

TEST(DuplexTest, WithoutHalfOpenAPendingWriteFinishesFirst) {
  // Node: ["_write:w1","resume","end","_final","prefinish","finish","close"].
  Loop loop;
  Log log;
  auto d = TestDuplex::make(loop, log, false, Completion::timer);
  record_readable(*d, log);
  d->events().prefinish.on([&] { log.push_back("prefinish"); });
  d->events().finish.on([&] { log.push_back("finish"); });
  d->events().data.on([](std::string_view) {});
  d->write("w1");
  d->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:w1", "resume", "end", "final", "prefinish", "finish", "close"}));
}

TEST(DuplexTest, HalfOpenKeepsTheOutputOpenAfterTheInputEnds) {
  // Node: ["data:a","end","writable:true destroyed:false","_write:z","_final","prefinish","finish",
  //        "close"].
  Loop loop;
  Log log;
  auto d = TestDuplex::make(loop, log, true);
  EXPECT_TRUE(d->allow_half_open());
  record_readable(*d, log);
  d->events().finish.on([&] { log.push_back("finish"); });
  record_data(*d, log);
  d->push("a");
  d->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back(std::string("writable:") + (d->writable() ? "true" : "false") +
                " destroyed:" + (d->destroyed() ? "true" : "false"));
  d->end("z");
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"resume", "data:a", "end", "writable:true destroyed:false", "write:z", "final", "finish",
                      "close"}));
}

TEST(DuplexTest, CloseWaitsForTheInputWhenTheOutputFinishesFirst) {
  // Node: ["_write:z","_final","prefinish","finish","readable:true destroyed:false","end","close"].
  Loop loop;
  Log log;
  auto d = TestDuplex::make(loop, log, true);
  d->events().end.on([&] { log.push_back("end"); });
  d->events().finish.on([&] { log.push_back("finish"); });
  d->events().close.on(test::must_call([&] { log.push_back("close"); }));
  d->events().data.on([](std::string_view) {});
  d->end("z");
  EXPECT_TRUE(loop.run_for(kLimit));
  log.push_back(std::string("readable:") + (d->readable() ? "true" : "false") +
                " destroyed:" + (d->destroyed() ? "true" : "false"));
  d->push_end();
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"write:z", "final", "finish", "readable:true destroyed:false", "end", "close"}));
}

// ---- destroy -------------------------------------------------------------------------------------

TEST(StreamTest, DestroyIsIdempotentAndEmitsCloseOnce) {
  // Node: destroy(); destroy(err) → errored stays null, no 'error', one 'close'; closed is true
  // as soon as _destroy called back.
  Loop loop;
  Log log;
  auto r = TestReadable::make(loop, log, 10, false);
  r->events().error.on(test::must_not_call<std::error_code>());
  r->events().close.on(test::must_call());
  r->destroy();
  r->destroy(kIoError);
  EXPECT_TRUE(r->destroyed());
  EXPECT_TRUE(r->closed());
  EXPECT_FALSE(r->errored());
  EXPECT_TRUE(loop.run_for(kLimit));
  r->destroy();
  EXPECT_TRUE(loop.run_for(kLimit));
}

TEST(StreamTest, ErroredKeepsTheFirstError) {
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  w->events().error.on(must_complete([](std::error_code ec) { EXPECT_EQ(ec, kIoError); }));
  w->events().close.on(test::must_call());
  w->destroy(kIoError);
  w->destroy(kPipeError);
  EXPECT_EQ(w->errored(), kIoError);
  EXPECT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(w->errored(), kIoError);
}

TEST(StreamTest, UnheardErrorIsThrownFromTheLoop) {
  Loop loop;
  Log log;
  auto w = TestWritable::make(loop, log);
  w->destroy(kIoError);
  EXPECT_THROW(loop.run_for(kLimit), Error);
}

}  // namespace
}  // namespace httpx::core
