// http::Agent and http::ClientRequest against libhttp's own servers (http::Server, or a raw
// net::Server where the test needs exact bytes) on 127.0.0.1: pooling seen from the server side
// (which server socket served each request), the agent's limits, hooks and overridable methods,
// and the request's events for 1xx, upgrades, CONNECT, timeouts, abort/destroy/AbortSignal, its
// header methods and options. Every expected order or value is what Node 20 (v20.20.2) printed for
// the same program; each comment quotes that output.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "httpx/core/abort.hpp"
#include "httpx/core/error.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/http/agent.hpp"
#include "httpx/http/client_request.hpp"
#include "httpx/http/incoming_message.hpp"
#include "httpx/http/server.hpp"
#include "httpx/http/server_response.hpp"
#include "httpx/net/server.hpp"
#include "httpx/net/socket.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"

namespace httpx::http {
namespace {

using namespace std::chrono_literals;
using Log = std::vector<std::string>;
using Req = std::shared_ptr<IncomingMessage>;
using Res = std::shared_ptr<ServerResponse>;
using SocketPtr = std::shared_ptr<net::Socket>;
using ReqPtr = std::shared_ptr<ClientRequest>;

constexpr auto kLimit = 10s;

// An http::Server on 127.0.0.1 that records, for every request, the client port it came from (the
// server socket's remote port), and counts connections and their closes. Without a handler it
// answers "hello".
struct Peer {
  using Handler = std::function<void(const Req&, const Res&)>;
  explicit Peer(core::Loop& loop, Handler handler = {}, ServerOptions options = {}) {
    server = create_server(loop, std::move(options), [this, handler](const Req& req, const Res& res) {
      ports.push_back(req->socket()->remote_port());
      if (const auto* c = req->headers().find("connection")) connection_headers.push_back(std::get<std::string>(*c));
      if (handler) {
        handler(req, res);
      } else {
        res->end("hello");
      }
    });
    server->events().connection.on([this](const SocketPtr& s) {
      ++connections;
      sockets.push_back(s);
      s->events().close.on([this] { ++closes; });
    });
    port = test::listen(server);
  }
  std::shared_ptr<Server> server;
  int port = 0;
  int connections = 0;
  int closes = 0;
  std::vector<int> ports;  // remote port of each request, in arrival order
  std::vector<std::string> connection_headers;
  std::vector<SocketPtr> sockets;  // the server side of each connection
};

// A raw TCP peer: `on_head(socket, received)` runs once per connection when the request head (and
// `body_bytes` more bytes) arrived; later bytes go to `on_more`.
struct RawPeer {
  using OnHead = std::function<void(const SocketPtr&, const std::string&)>;
  RawPeer(core::Loop& loop, OnHead on_head, std::size_t body_bytes = 0,
          std::function<void(const SocketPtr&, std::string_view)> on_more = {}) {
    server = net::Server::create(loop);
    server->events().connection.on([this, on_head, body_bytes, on_more](const SocketPtr& s) {
      ++connections;
      s->events().error.on([](std::error_code) {});
      auto got = std::make_shared<std::string>();
      auto sent = std::make_shared<bool>(false);
      net::Socket* raw = s.get();
      s->events().data.on([raw, got, sent, on_head, body_bytes, on_more](std::string_view d) {
        auto self = std::dynamic_pointer_cast<net::Socket>(raw->shared_from_this());
        if (*sent) {
          if (on_more) on_more(self, d);
          return;
        }
        got->append(d);
        const auto end = got->find("\r\n\r\n");
        if (end == std::string::npos || got->size() < end + 4 + body_bytes) return;
        *sent = true;
        on_head(self, *got);
      });
    });
    server->listen(net::ListenOptions{.port = 0, .host = "127.0.0.1"});
    port = server->address()->port;
  }
  std::shared_ptr<net::Server> server;
  int port = 0;
  int connections = 0;
};

ClientRequestOptions to(int port, std::shared_ptr<Agent> agent = nullptr, std::string path = "/") {
  ClientRequestOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.path = std::move(path);
  if (agent) {
    o.agent = std::move(agent);
  } else {
    o.no_agent = true;
  }
  return o;
}

template <class T>
std::size_t pool_size(const std::map<std::string, std::vector<T>>& pools, const std::string& name) {
  auto it = pools.find(name);
  return it == pools.end() ? 0 : it->second.size();
}

template <class T>
std::string keys(const std::map<std::string, std::vector<T>>& pools, int port = 0) {
  std::string out;
  for (const auto& [name, list] : pools) {
    std::string k = name;
    if (port) {
      const auto p = k.find(std::to_string(port));
      if (p != std::string::npos) k.replace(p, std::to_string(port).size(), "PORT");
    }
    out += (out.empty() ? "" : ",") + k;
  }
  return out;
}

std::string value(const HeaderValue* v) {
  if (v == nullptr) return "undefined";
  if (const auto* s = std::get_if<std::string>(v)) return *s;
  std::string out = "[";
  for (const auto& s : std::get<std::vector<std::string>>(*v)) out += (out.size() > 1 ? "," : "") + ("\"" + s + "\"");
  return out + "]";
}

std::string json(const std::vector<std::string>& list) {
  std::string out = "[";
  for (const auto& s : list) out += (out.size() > 1 ? "," : "") + ("\"" + s + "\"");
  return out + "]";
}

std::string json(const HeaderMap& map) {
  std::string out = "{";
  for (const auto& [k, v] : map) out += (out.size() > 1 ? "," : "") + ("\"" + k + "\":\"" + value(&v) + "\"");
  return out + "}";
}

std::string code_and_message(std::error_code ec) { return core::node_code(ec) + ":" + ec.message(); }

// The request head lines received by a raw peer, with the port replaced by PORT.
std::vector<std::string> head_lines(const std::string& received, int port) {
  std::vector<std::string> lines;
  const std::string head = received.substr(0, received.find("\r\n\r\n"));
  std::size_t pos = 0;
  while (pos <= head.size()) {
    auto next = head.find("\r\n", pos);
    if (next == std::string::npos) next = head.size();
    std::string line = head.substr(pos, next - pos);
    if (auto p = line.find(std::to_string(port)); p != std::string::npos) line.replace(p, std::to_string(port).size(), "PORT");
    lines.push_back(line);
    pos = next + 2;
  }
  return lines;
}

// ================================ Agent: pooling seen from the server ================================

TEST(AgentPoolTest, KeepAliveServesEveryRequestOnOneServerSocket) {
  // Node (three GETs, each made from the agent's 'free'):
  // {"connections":1,"samePorts":1,"serverSeesClientPort":true,"reused":[false,true,true],
  //  "freeAfter":[[1,0,1],[1,0,1],[1,0,1]]}   (freeSockets[name], sockets[name], totalSocketCount)
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  const std::string name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  std::vector<bool> reused;
  std::vector<int> local_ports;
  std::vector<std::vector<std::size_t>> free_after;
  std::function<void(int)> next = [&](int left) {
    auto req = get(loop, to(peer.port, agent, "/" + std::to_string(left)), [&](const Req& res) {
      local_ports.push_back(res->socket()->local_port());
      res->resume();
    });
    req->events().close.on([&, r = req.get()] { reused.push_back(r->reused_socket()); });
    agent->events().free.once([&, left](const SocketPtr&, const AgentConnectOptions&) {
      free_after.push_back({pool_size(agent->free_sockets(), name), pool_size(agent->sockets(), name),
                            agent->total_socket_count()});
      if (left > 1) {
        next(left - 1);
      } else {
        agent->destroy();
        peer.server->close();
      }
    });
  };
  next(3);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(peer.connections, 1);
  ASSERT_EQ(peer.ports.size(), 3u);
  EXPECT_EQ(std::set<int>(peer.ports.begin(), peer.ports.end()).size(), 1u);
  EXPECT_EQ(peer.ports, local_ports);
  EXPECT_EQ(reused, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(free_after, (std::vector<std::vector<std::size_t>>{{1, 0, 1}, {1, 0, 1}, {1, 0, 1}}));
}

TEST(AgentPoolTest, WithoutKeepAliveEveryRequestGetsItsOwnConnection) {
  // Node (three GETs in a row on `new Agent()`):
  // {"connections":3,"distinctPorts":3,"conn":["close","close","close"],"reused":[false,false,false],
  //  "free":[0,0,0],"closes":3}
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop);
  std::vector<bool> reused;
  std::vector<std::size_t> free;
  std::function<void(int)> next = [&](int left) {
    auto req = get(loop, to(peer.port, agent), [](const Req& res) { res->resume(); });
    req->events().close.on([&, r = req.get(), left] {
      reused.push_back(r->reused_socket());
      loop.post([&, left] {
        free.push_back(agent->free_sockets().size());
        if (left > 1) {
          next(left - 1);
        } else {
          peer.server->close();
        }
      });
    });
  };
  next(3);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(peer.connections, 3);
  EXPECT_EQ(std::set<int>(peer.ports.begin(), peer.ports.end()).size(), 3u);
  EXPECT_EQ(peer.connection_headers, (Log{"close", "close", "close"}));
  EXPECT_EQ(reused, (std::vector<bool>{false, false, false}));
  EXPECT_EQ(free, (std::vector<std::size_t>{0, 0, 0}));
  EXPECT_EQ(peer.closes, 3);
}

TEST(AgentPoolTest, MaxSocketsOneWithoutKeepAliveHandsTheSocketToQueuedRequests) {
  // Node (`new Agent({maxSockets: 1})`, three GETs at once):
  // {"queued":[[0,1],[1,1],[2,1]],"atResponse":[2,1,0],"reused":[false,false,false],"connections":1,
  //  "distinctPorts":1,"conn":["keep-alive","keep-alive","keep-alive"],"free":0,"sockets":0,"total":0}
  // (queued: requests[name] and sockets[name] sizes after each http.get(); atResponse: requests[name]
  // in each 'response'; the last three at process exit.)
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.max_sockets = 1});
  const std::string name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  std::vector<std::vector<std::size_t>> queued;
  std::vector<std::size_t> at_response;
  std::vector<bool> reused;
  int done = 0;
  std::vector<ReqPtr> reqs;
  for (int i = 0; i < 3; ++i) {
    auto req = get(loop, to(peer.port, agent), [&](const Req& res) {
      at_response.push_back(pool_size(agent->requests(), name));
      res->resume();
    });
    queued.push_back({pool_size(agent->requests(), name), pool_size(agent->sockets(), name)});
    req->events().close.on([&, r = req.get()] {
      reused.push_back(r->reused_socket());
      if (++done == 3) peer.server->close();
    });
    reqs.push_back(req);
  }
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(queued, (std::vector<std::vector<std::size_t>>{{0, 1}, {1, 1}, {2, 1}}));
  EXPECT_EQ(at_response, (std::vector<std::size_t>{2, 1, 0}));
  EXPECT_EQ(reused, (std::vector<bool>{false, false, false}));
  EXPECT_EQ(peer.connections, 1);
  EXPECT_EQ(std::set<int>(peer.ports.begin(), peer.ports.end()).size(), 1u);
  EXPECT_EQ(peer.connection_headers, (Log{"keep-alive", "keep-alive", "keep-alive"}));
  EXPECT_EQ(agent->free_sockets().size(), 0u);
  EXPECT_EQ(agent->sockets().size(), 0u);
  EXPECT_EQ(agent->total_socket_count(), 0u);
}

TEST(AgentPoolTest, MaxTotalSocketsQueuesTheSecondOriginUntilTheFirstSocketCloses) {
  // Node (`new Agent({maxTotalSockets: 1})`, one GET to each of two servers):
  // {"after":{"total":1,"queued2":1,"requestKeys":1},"log":["r1:response","r1:close","r2:response",
  //  "r2:close"],"order":["s1","s2"],"c1":1,"c2":1,"total":0}
  core::Loop loop;
  Log order;
  Peer s1(loop, [&](const Req&, const Res& res) {
    order.push_back("s1");
    res->end("one");
  });
  Peer s2(loop, [&](const Req&, const Res& res) {
    order.push_back("s2");
    res->end("two");
  });
  auto agent = Agent::create(loop, AgentOptions{.max_total_sockets = 1});
  const std::string n2 = agent->get_name({.host = "127.0.0.1", .port = s2.port});
  Log log;
  auto r1 = get(loop, to(s1.port, agent), [&](const Req& res) {
    log.push_back("r1:response");
    res->resume();
  });
  auto r2 = get(loop, to(s2.port, agent), [&](const Req& res) {
    log.push_back("r2:response");
    res->resume();
  });
  EXPECT_EQ(agent->total_socket_count(), 1u);
  EXPECT_EQ(pool_size(agent->requests(), n2), 1u);
  EXPECT_EQ(agent->requests().size(), 1u);
  r1->events().close.on([&] { log.push_back("r1:close"); });
  r2->events().close.on([&] {
    log.push_back("r2:close");
    s1.server->close();
    s2.server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"r1:response", "r1:close", "r2:response", "r2:close"}));
  EXPECT_EQ(order, (Log{"s1", "s2"}));
  EXPECT_EQ(s1.connections, 1);
  EXPECT_EQ(s2.connections, 1);
  EXPECT_EQ(agent->total_socket_count(), 0u);
}

TEST(AgentPoolTest, MaxTotalSocketsWithKeepAliveLetsTheOtherOriginConnectWhenASocketGoesFree) {
  // Node (`new Agent({keepAlive: true, maxTotalSockets: 1})`): the socket of origin 1 going free
  // runs removeSocket(), which connects the queued request of origin 2; the total then exceeds the
  // limit, so origin 2's socket is not kept. Printed a tick after r2's 'close':
  // {"log":["r1:response","r1:close","r2:response:total=2:free1=1","r2:close"],"c1":1,"c2":1,
  //  "total":2,"free1":1,"free2":0,"queued":0}
  core::Loop loop;
  Peer s1(loop);
  Peer s2(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true, .max_total_sockets = 1});
  const std::string n1 = agent->get_name({.host = "127.0.0.1", .port = s1.port});
  const std::string n2 = agent->get_name({.host = "127.0.0.1", .port = s2.port});
  Log log;
  std::vector<std::size_t> after;
  auto r1 = get(loop, to(s1.port, agent), [&](const Req& res) {
    log.push_back("r1:response");
    res->resume();
  });
  auto r2 = get(loop, to(s2.port, agent), [&](const Req& res) {
    log.push_back("r2:response:total=" + std::to_string(agent->total_socket_count()) +
                  ":free1=" + std::to_string(pool_size(agent->free_sockets(), n1)));
    res->resume();
  });
  r1->events().close.on([&] { log.push_back("r1:close"); });
  r2->events().close.on([&] {
    log.push_back("r2:close");
    loop.post([&] {
      after = {agent->total_socket_count(), pool_size(agent->free_sockets(), n1), pool_size(agent->free_sockets(), n2),
               agent->requests().size()};
      agent->destroy();
      s1.server->close();
      s2.server->close();
    });
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"r1:response", "r1:close", "r2:response:total=2:free1=1", "r2:close"}));
  EXPECT_EQ(s1.connections, 1);
  EXPECT_EQ(s2.connections, 1);
  EXPECT_EQ(after, (std::vector<std::size_t>{2, 1, 0, 0}));
}

// Two requests at once, /fast answered at once and /slow 50 ms later, so the socket of /fast goes
// free first; then a third request. Returns which socket it got and what the agent did.
struct SchedulingRun {
  Log free_order;
  std::size_t free_before = 0;
  std::string third;
  bool reused = false;
  int connections = 0;
  std::string server_saw_third_on;
};

SchedulingRun run_scheduling(AgentScheduling scheduling) {
  core::Loop loop;
  SchedulingRun out;
  Peer peer(loop, [&](const Req& req, const Res& res) {
    if (req->url() == "/slow") {
      loop.set_timeout([res] { res->end("slow"); }, 50ms);
    } else {
      res->end("fast");
    }
  });
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true, .scheduling = scheduling});
  const std::string name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  std::map<std::string, int> local;
  auto which = [&](int port) {
    return port == local["fast"] ? std::string("fast") : port == local["slow"] ? std::string("slow") : std::string("new");
  };
  ReqPtr third;
  agent->events().free.on([&](const SocketPtr& s, const AgentConnectOptions&) {
    out.free_order.push_back(which(s->local_port()));
    if (out.free_order.size() != 2) return;
    loop.post([&] {
      out.free_before = pool_size(agent->free_sockets(), name);
      third = get(loop, to(peer.port, agent, "/third"), [&](const Req& res) {
        const int lp = res->socket()->local_port();
        res->resume();
        res->events().end.on([&, lp] {
          loop.post([&, lp] {
            out.third = which(lp);
            out.reused = third->reused_socket();
            out.connections = peer.connections;
            if (peer.ports.size() == 3) out.server_saw_third_on = which(peer.ports[2]);
            agent->destroy();
            peer.server->close();
          });
        });
      });
    });
  });
  std::vector<ReqPtr> first;
  for (const std::string path : {"/fast", "/slow"}) {
    first.push_back(get(loop, to(peer.port, agent, path), [&, key = path.substr(1)](const Req& res) {
      local[key] = res->socket()->local_port();
      res->resume();
    }));
  }
  EXPECT_TRUE(loop.run_for(kLimit));
  return out;
}

TEST(AgentPoolTest, LifoSchedulingGivesTheNextRequestTheSocketFreedLast) {
  // Node (scheduling 'lifo'):
  // {"freeOrder":["fast","slow","slow"],"freeBefore":2,"third":"slow","reused":true,"connections":2,
  //  "serverSawThirdOn":"slow"}
  const auto r = run_scheduling(AgentScheduling::lifo);
  EXPECT_EQ(r.free_order, (Log{"fast", "slow", "slow"}));
  EXPECT_EQ(r.free_before, 2u);
  EXPECT_EQ(r.third, "slow");
  EXPECT_TRUE(r.reused);
  EXPECT_EQ(r.connections, 2);
  EXPECT_EQ(r.server_saw_third_on, "slow");
}

TEST(AgentPoolTest, FifoSchedulingGivesTheNextRequestTheSocketFreedFirst) {
  // Node (scheduling 'fifo'):
  // {"freeOrder":["fast","slow","fast"],"freeBefore":2,"third":"fast","reused":true,"connections":2,
  //  "serverSawThirdOn":"fast"}
  const auto r = run_scheduling(AgentScheduling::fifo);
  EXPECT_EQ(r.free_order, (Log{"fast", "slow", "fast"}));
  EXPECT_EQ(r.free_before, 2u);
  EXPECT_EQ(r.third, "fast");
  EXPECT_TRUE(r.reused);
  EXPECT_EQ(r.connections, 2);
  EXPECT_EQ(r.server_saw_third_on, "fast");
}

TEST(AgentPoolTest, MaxFreeSocketsKeepsOneAndClosesTheSurplus) {
  // Node (`{keepAlive: true, maxFreeSockets: 1}`, three GETs at once, checked once the server saw
  // two closes): {"connections":3,"serverCloses":2,"free":1,"total":1}
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true, .max_free_sockets = 1});
  const std::string name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  int frees = 0;
  std::size_t free = 99;
  std::size_t total = 99;
  std::function<void()> check = [&] {
    if (peer.closes < 2) {
      loop.set_timeout(check, 5ms);
      return;
    }
    free = pool_size(agent->free_sockets(), name);
    total = agent->total_socket_count();
    agent->destroy();
    peer.server->close();
  };
  agent->events().free.on([&](const SocketPtr&, const AgentConnectOptions&) {
    if (++frees == 3) check();
  });
  std::vector<ReqPtr> reqs;
  for (int i = 0; i < 3; ++i) reqs.push_back(get(loop, to(peer.port, agent), [](const Req& res) { res->resume(); }));
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(peer.connections, 3);
  EXPECT_EQ(free, 1u);
  EXPECT_EQ(total, 1u);
}

TEST(AgentPoolTest, FreeSocketIsDestroyedWhenTheAgentTimeoutExpires) {
  // Node (`{keepAlive: true, timeout: 100}`):
  // {"before":1,"sockTimeout":100,"after":0,"total":0,"elapsedAtLeast90":true,"destroyed":true}
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true, .timeout = 100ms});
  const std::string name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  std::size_t before = 99, after = 99, total = 99;
  std::chrono::milliseconds sock_timeout{-1};
  bool elapsed_ok = false, destroyed = false, closed = false;
  std::chrono::steady_clock::time_point t0;
  agent->events().free.once([&](const SocketPtr& s, const AgentConnectOptions&) {
    t0 = std::chrono::steady_clock::now();
    before = pool_size(agent->free_sockets(), name);
    sock_timeout = s->timeout();
    net::Socket* raw = s.get();
    s->events().timeout.on([&, raw] {
      elapsed_ok = std::chrono::steady_clock::now() - t0 >= 90ms;
      raw->events().close.on([&, raw] {
        closed = true;
        after = pool_size(agent->free_sockets(), name);
        total = agent->total_socket_count();
        destroyed = raw->destroyed();
        peer.server->close();
      });
    });
  });
  auto req = get(loop, to(peer.port, agent), [](const Req& res) { res->resume(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  ASSERT_TRUE(closed);
  EXPECT_EQ(before, 1u);
  EXPECT_EQ(sock_timeout, 100ms);
  EXPECT_EQ(after, 0u);
  EXPECT_EQ(total, 0u);
  EXPECT_TRUE(elapsed_ok);
  EXPECT_TRUE(destroyed);
}

TEST(AgentPoolTest, FreeSocketClosedByTheServerLeavesThePool) {
  // Node (the server destroys its side of the pooled connection):
  // ["free:1","close:0:0","second:reused=false:connections=2"]   (close: freeSockets[name], total)
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  const std::string name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  Log log;
  ReqPtr second;
  agent->events().free.once([&](const SocketPtr& s, const AgentConnectOptions&) {
    log.push_back("free:" + std::to_string(pool_size(agent->free_sockets(), name)));
    s->events().close.on([&] {
      log.push_back("close:" + std::to_string(pool_size(agent->free_sockets(), name)) + ":" +
                    std::to_string(agent->total_socket_count()));
      second = get(loop, to(peer.port, agent), [&](const Req& res) {
        res->resume();
        res->events().end.on([&] {
          log.push_back("second:reused=" + std::string(second->reused_socket() ? "true" : "false") +
                        ":connections=" + std::to_string(peer.connections));
          loop.post([&] {
            agent->destroy();
            peer.server->close();
          });
        });
      });
    });
    peer.sockets.at(0)->destroy();
  });
  auto req = get(loop, to(peer.port, agent), [](const Req& res) { res->resume(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"free:1", "close:0:0", "second:reused=false:connections=2"}));
}

TEST(AgentPoolTest, DestroyClosesFreeAndBusySockets) {
  // Node (one free socket, one request waiting for an answer, then agent.destroy()):
  // {"log":["destroy:free=1:busy=1","error:ECONNRESET:socket hang up","close",
  //  "after:free=0:busy=0:total=0"],"connections":2,"closes":2}
  core::Loop loop;
  Log log;
  std::shared_ptr<Agent> agent;
  std::string name;
  Res held;
  std::function<void()> check;
  Peer* peer_ptr = nullptr;
  Peer peer(loop, [&](const Req& req, const Res& res) {
    if (req->url() != "/hold") {
      res->end("ok");
      return;
    }
    held = res;
    loop.set_timeout(
        [&] {
          log.push_back("destroy:free=" + std::to_string(pool_size(agent->free_sockets(), name)) +
                        ":busy=" + std::to_string(pool_size(agent->sockets(), name)));
          agent->destroy();
          check();
        },
        20ms);
  });
  peer_ptr = &peer;
  check = [&] {
    if (peer_ptr->closes < 2) {
      loop.set_timeout(check, 5ms);
      return;
    }
    loop.post([&] {
      log.push_back("after:free=" + std::to_string(pool_size(agent->free_sockets(), name)) +
                    ":busy=" + std::to_string(pool_size(agent->sockets(), name)) +
                    ":total=" + std::to_string(agent->total_socket_count()));
      peer_ptr->server->close();
    });
  };
  agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  ReqPtr other, hold;
  agent->events().free.once([&](const SocketPtr&, const AgentConnectOptions&) {
    other = get(loop, to(peer.port, agent, "/other"), [](const Req& res) { res->resume(); });
    hold = get(loop, to(peer.port, agent, "/hold"), [&](const Req&) { log.push_back("response"); });
    hold->events().error.on([&](std::error_code ec) { log.push_back("error:" + code_and_message(ec)); });
    hold->events().close.on([&] { log.push_back("close"); });
  });
  auto first = get(loop, to(peer.port, agent), [](const Req& res) { res->resume(); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"destroy:free=1:busy=1", "error:ECONNRESET:socket hang up", "close",
                      "after:free=0:busy=0:total=0"}));
  EXPECT_EQ(peer.connections, 2);
  EXPECT_EQ(peer.closes, 2);
}

TEST(AgentPoolTest, NoAgentGivesEachRequestAOneTimeAgent) {
  // Node (two GETs with `agent: false`):
  // {"distinct":true,"notGlobal":true,"keepAlive":false,"isAgent":true,"connections":2,
  //  "conn":["close","close"],"closes":2,"free":0}
  core::Loop loop;
  Peer peer(loop);
  auto r1 = get(loop, to(peer.port), [](const Req& res) { res->resume(); });
  auto r2 = get(loop, to(peer.port), [](const Req& res) { res->resume(); });
  ASSERT_NE(r1->agent(), nullptr);
  ASSERT_NE(r2->agent(), nullptr);
  EXPECT_NE(r1->agent(), r2->agent());
  EXPECT_NE(r1->agent(), global_agent(loop));
  EXPECT_FALSE(r1->agent()->keep_alive());
  int done = 0;
  auto fin = [&] {
    if (++done == 2) peer.server->close();
  };
  r1->events().close.on(fin);
  r2->events().close.on(fin);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(peer.connections, 2);
  EXPECT_EQ(peer.connection_headers, (Log{"close", "close"}));
  EXPECT_EQ(peer.closes, 2);
  EXPECT_EQ(r1->agent()->free_sockets().size(), 0u);
}

TEST(AgentPoolTest, AgentRemoveTakesTheSocketOutOfThePools) {
  // Node (the request's socket emits 'agentRemove' on 'socket'; checked 20 ms after the response
  // ended; printed at exit: the only agent 'free' is the second request's socket):
  // ["before:busy=1:total=1","removed:busy=0:total=0","response:200",
  //  "after:free=0:busy=0:total=0:destroyed=false","second:reused=false:connections=2","agent-free"]
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  const std::string name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  Log log;
  SocketPtr sock;
  ReqPtr r2;
  agent->events().free.on([&](const SocketPtr&, const AgentConnectOptions&) { log.push_back("agent-free"); });
  auto req = get(loop, to(peer.port, agent), [&](const Req& res) {
    log.push_back("response:" + std::to_string(res->status_code()));
    res->resume();
    res->events().end.on([&] {
      loop.set_timeout(
          [&] {
            log.push_back("after:free=" + std::to_string(pool_size(agent->free_sockets(), name)) +
                          ":busy=" + std::to_string(pool_size(agent->sockets(), name)) +
                          ":total=" + std::to_string(agent->total_socket_count()) +
                          ":destroyed=" + (sock->destroyed() ? "true" : "false"));
            r2 = get(loop, to(peer.port, agent), [&](const Req& res2) {
              res2->resume();
              res2->events().end.on([&] {
                log.push_back("second:reused=" + std::string(r2->reused_socket() ? "true" : "false") +
                              ":connections=" + std::to_string(peer.connections));
                sock->destroy();
                agent->destroy();
                peer.server->close();
              });
            });
          },
          20ms);
    });
  });
  req->events().socket.on([&](const SocketPtr& s) {
    sock = s;
    log.push_back("before:busy=" + std::to_string(pool_size(agent->sockets(), name)) +
                  ":total=" + std::to_string(agent->total_socket_count()));
    s->events().agent_remove.emit();
    log.push_back("removed:busy=" + std::to_string(pool_size(agent->sockets(), name)) +
                  ":total=" + std::to_string(agent->total_socket_count()));
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"before:busy=1:total=1", "removed:busy=0:total=0", "response:200",
                      "after:free=0:busy=0:total=0:destroyed=false", "second:reused=false:connections=2",
                      "agent-free"}));
}

TEST(AgentPoolTest, FreeSocketsDoNotKeepTheLoopAlive) {
  // Node (server and its accepted sockets unref()ed; at 'beforeExit'):
  // {"exited":true,"free":1,"destroyed":false}
  core::Loop loop;
  Peer peer(loop);
  peer.server->unref();
  peer.server->events().connection.on([](const SocketPtr& s) { s->unref(); });
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  const std::string name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  SocketPtr sock;
  auto req = get(loop, to(peer.port, agent), [&](const Req& res) {
    sock = res->socket();
    res->resume();
  });
  ASSERT_TRUE(loop.run_for(kLimit));  // returned because nothing referenced was left
  ASSERT_NE(sock, nullptr);
  EXPECT_EQ(pool_size(agent->free_sockets(), name), 1u);
  EXPECT_FALSE(sock->destroyed());
  agent->destroy();
  peer.server->close();
  EXPECT_TRUE(loop.run_for(kLimit));
}

// One GET through `{keepAlive: true, timeout: 10000}` to a server whose keepAliveTimeout is
// `keep_alive_timeout`; what keep_socket_alive() made of its "Keep-Alive: timeout=N" hint, seen a
// tick after the agent's 'free'.
Log run_keep_alive_hint(std::chrono::milliseconds keep_alive_timeout) {
  core::Loop loop;
  Peer peer(loop);
  peer.server->keep_alive_timeout = keep_alive_timeout;
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true, .timeout = 10000ms});
  const std::string name = agent->get_name({.host = "127.0.0.1", .port = peer.port});
  Log log;
  std::string hint;
  auto req = get(loop, to(peer.port, agent), [&](const Req& res) {
    hint = value(res->headers().find("keep-alive"));
    res->resume();
  });
  agent->events().free.on([&](const SocketPtr& s, const AgentConnectOptions&) {
    loop.post([&, s] {
      log = {"hint:" + hint, "free:" + std::to_string(pool_size(agent->free_sockets(), name)),
             "timeout:" + std::to_string(s->timeout().count()), std::string("destroyed:") + (s->destroyed() ? "true" : "false")};
      agent->destroy();
      peer.server->close();
    });
  });
  EXPECT_TRUE(loop.run_for(kLimit));
  return log;
}

TEST(AgentPoolTest, KeepAliveHintShortensTheFreeSocketTimeout) {
  // Node (server.keepAliveTimeout 5000): {"hint":"timeout=5","free":1,"timeout":4000,"destroyed":false}
  EXPECT_EQ(run_keep_alive_hint(5000ms), (Log{"hint:timeout=5", "free:1", "timeout:4000", "destroyed:false"}));
}

TEST(AgentPoolTest, KeepAliveHintOfOneSecondIsTooShortToPool) {
  // Node (server.keepAliveTimeout 1000): {"hint":"timeout=1","free":0,"timeout":10000,"destroyed":true}
  EXPECT_EQ(run_keep_alive_hint(1000ms), (Log{"hint:timeout=1", "free:0", "timeout:10000", "destroyed:true"}));
}

TEST(AgentHooksTest, CreateConnectionHookReturningTheSocket) {
  // Node (agent.createConnection returns net.createConnection(opts), keepAlive agent):
  // {"calls":[{"host":"127.0.0.1","port":true,"keepAlive":true,"delay":1000}],
  //  "log":["socket","response:200","close"],"connections":1}
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  std::vector<net::ConnectOptions> calls;
  agent->create_connection_hook = [&](const net::ConnectOptions& o, const CreateConnectionCallback&) {
    calls.push_back(o);
    return net::Socket::create_connection(loop, o);
  };
  Log log;
  auto req = get(loop, to(peer.port, agent), [&](const Req& res) {
    log.push_back("response:" + std::to_string(res->status_code()));
    res->resume();
  });
  req->events().socket.on([&](const SocketPtr&) { log.push_back("socket"); });
  req->events().close.on([&] {
    log.push_back("close");
    agent->destroy();
    peer.server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].host, "127.0.0.1");
  EXPECT_EQ(calls[0].port, peer.port);
  EXPECT_TRUE(calls[0].keep_alive);
  EXPECT_EQ(calls[0].keep_alive_initial_delay, 1000ms);
  EXPECT_EQ(log, (Log{"socket", "response:200", "close"}));
  EXPECT_EQ(peer.connections, 1);
}

TEST(AgentHooksTest, CreateConnectionHookAnsweringThroughTheCallbackLater) {
  // Node (createConnection returns undefined and calls back 10 ms later):
  // ["create","made:busy=0","callback","socket:total=1","response:200","close"]
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop);
  Log log;
  agent->create_connection_hook = [&](const net::ConnectOptions& o, const CreateConnectionCallback& cb) {
    log.push_back("create");
    loop.set_timeout(
        [&, o, cb] {
          log.push_back("callback");
          cb({}, net::Socket::create_connection(loop, o));
        },
        10ms);
    return SocketPtr{};
  };
  auto req = get(loop, to(peer.port, agent), [&](const Req& res) {
    log.push_back("response:" + std::to_string(res->status_code()));
    res->resume();
  });
  log.push_back("made:busy=" + std::to_string(agent->total_socket_count()));
  req->events().socket.on([&](const SocketPtr&) { log.push_back("socket:total=" + std::to_string(agent->total_socket_count())); });
  req->events().close.on([&] {
    log.push_back("close");
    peer.server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"create", "made:busy=0", "callback", "socket:total=1", "response:200", "close"}));
}

TEST(AgentHooksTest, CreateConnectionHookFailingThroughTheCallback) {
  // Node (createConnection calls back 5 ms later with an error whose code is ECONNREFUSED; the
  // message "refused by hook" has no counterpart in an error_code):
  // ["r2:error:ECONNREFUSED:refused by hook","r2:close:total=0"]   (no 'socket', no 'response')
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop);
  agent->create_connection_hook = [&](const net::ConnectOptions&, const CreateConnectionCallback& cb) {
    loop.set_timeout([cb] { cb(std::make_error_code(std::errc::connection_refused), nullptr); }, 5ms);
    return SocketPtr{};
  };
  Log log;
  auto req = get(loop, to(peer.port, agent), test::must_not_call<const Req&>());
  req->events().socket.on([&](const SocketPtr&) { log.push_back("r2:socket"); });
  req->events().error.on([&](std::error_code ec) { log.push_back("r2:error:" + core::node_code(ec)); });
  req->events().close.on([&] {
    log.push_back("r2:close:total=" + std::to_string(agent->total_socket_count()));
    peer.server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"r2:error:ECONNREFUSED", "r2:close:total=0"}));
  EXPECT_EQ(peer.connections, 0);
}

// Agent's constructor is protected: subclasses make themselves (as MadeAgent in agent.cpp does).
struct NoKeepAgent : Agent {
  NoKeepAgent(core::Loop& loop, AgentOptions options) : Agent(loop, std::move(options)) {}
  bool keep_socket_alive(const SocketPtr&) override {
    ++kept;
    return false;
  }
  int kept = 0;
};

struct WatchAgent : Agent {
  WatchAgent(core::Loop& loop, AgentOptions options) : Agent(loop, std::move(options)) {}
  void reuse_socket(const SocketPtr& socket, ClientRequest& request) override {
    reuses.push_back(request.path());
    Agent::reuse_socket(socket, request);
  }
  Log reuses;
};

// GETs `paths` one after the other (the next a tick after the previous 'close').
void sequence(core::Loop& loop, int port, const std::shared_ptr<Agent>& agent, std::vector<std::string> paths,
              Log& log, std::function<void()> done) {
  if (paths.empty()) {
    done();
    return;
  }
  auto req = get(loop, to(port, agent, paths.front()), [](const Req& res) { res->resume(); });
  req->events().close.on([&loop, port, agent, paths, &log, done, r = req.get()] {
    log.push_back(paths.front() + ":reused=" + (r->reused_socket() ? "true" : "false"));
    loop.post([&loop, port, agent, paths, &log, done] {
      sequence(loop, port, agent, std::vector<std::string>(paths.begin() + 1, paths.end()), log, done);
    });
  });
}

TEST(AgentHooksTest, KeepSocketAliveOverrideRefusingDestroysTheSocket) {
  // Node (class NoKeep extends Agent { keepSocketAlive() { kept++; return false } }, two GETs in a row):
  // ["/a:reused=false","/b:reused=false","nokeep:kept=2:free=0:connections=2"]
  core::Loop loop;
  Peer peer(loop);
  auto agent = std::make_shared<NoKeepAgent>(loop, AgentOptions{.keep_alive = true});
  Log log;
  sequence(loop, peer.port, agent, {"/a", "/b"}, log, [&] {
    log.push_back("nokeep:kept=" + std::to_string(agent->kept) + ":free=" + std::to_string(agent->free_sockets().size()) +
                  ":connections=" + std::to_string(peer.connections));
    peer.server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"/a:reused=false", "/b:reused=false", "nokeep:kept=2:free=0:connections=2"}));
}

TEST(AgentHooksTest, ReuseSocketOverrideSeesTheRequestThatTakesAFreeSocket) {
  // Node (class Watch extends Agent { reuseSocket(s, req) { reuses.push(req.path); super.reuseSocket(s, req) } }):
  // ["/c:reused=false","/d:reused=true","watch:reuses=[\"/d\"]:connections=1"]
  // (the Node run shared its server with the previous test: connections=3 there is 1 here.)
  core::Loop loop;
  Peer peer(loop);
  auto agent = std::make_shared<WatchAgent>(loop, AgentOptions{.keep_alive = true});
  Log log;
  sequence(loop, peer.port, agent, {"/c", "/d"}, log, [&] {
    log.push_back("watch:reuses=" + json(agent->reuses) + ":connections=" + std::to_string(peer.connections));
    agent->destroy();
    peer.server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"/c:reused=false", "/d:reused=true", "watch:reuses=[\"/d\"]:connections=1"}));
}

TEST(AgentHooksTest, PoolKeyOfARequestCarriesFamilyAndLocalAddress) {
  // Node (a GET with family 4 and localAddress '127.0.0.1'; getName() on its own):
  // ["busy:127.0.0.1:PORT:127.0.0.1:4","free:127.0.0.1:PORT:127.0.0.1:4","name:127.0.0.1:1:127.0.0.1:4",
  //  "name6:::1:2::6","name5:h:3:"]
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  Log log;
  auto options = to(peer.port, agent);
  options.family = 4;
  options.local_address = "127.0.0.1";
  auto req = get(loop, options, [](const Req& res) { res->resume(); });
  req->events().socket.on([&](const SocketPtr&) { log.push_back("busy:" + keys(agent->sockets(), peer.port)); });
  agent->events().free.on([&](const SocketPtr&, const AgentConnectOptions&) {
    log.push_back("free:" + keys(agent->free_sockets(), peer.port));
    log.push_back("name:" + agent->get_name({.host = "127.0.0.1", .port = 1, .local_address = "127.0.0.1", .family = 4}));
    log.push_back("name6:" + agent->get_name({.host = "::1", .port = 2, .family = 6}));
    log.push_back("name5:" + agent->get_name({.host = "h", .port = 3, .family = 5}));
    agent->destroy();
    peer.server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"busy:127.0.0.1:PORT:127.0.0.1:4", "free:127.0.0.1:PORT:127.0.0.1:4",
                      "name:127.0.0.1:1:127.0.0.1:4", "name6:::1:2::6", "name5:h:3:"}));
}

// ================================ ClientRequest: events ================================

TEST(ClientRequestEventsTest, PostThroughAKeepAliveAgent) {
  // Node (POST write('abc') + end('def'), keepAlive agent; res 'close' comes after the agent's 'free'):
  // {"log":["socket","prefinish","finish","response:200","data:done","end","close","free","res-close"],
  //  "body":"abcdef","destroyed":true,"writableFinished":true}
  core::Loop loop;
  std::string body;
  Peer peer(loop, [&](const Req& req, const Res& res) {
    req->events().data.on([&](std::string_view d) { body.append(d); });
    req->events().end.on([res] { res->end("done"); });
  });
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  Log log;
  auto options = to(peer.port, agent);
  options.method = "POST";
  auto req = request(loop, options, [&](const Req& res) {
    log.push_back("response:" + std::to_string(res->status_code()));
    res->events().data.on([&](std::string_view d) { log.push_back("data:" + std::string(d)); });
    res->events().end.on([&] { log.push_back("end"); });
    res->events().close.on([&] { log.push_back("res-close"); });
  });
  req->events().socket.on([&](const SocketPtr&) { log.push_back("socket"); });
  req->events().prefinish.on([&] { log.push_back("prefinish"); });
  req->events().finish.on([&] { log.push_back("finish"); });
  req->events().close.on([&] { log.push_back("close"); });
  agent->events().free.on([&](const SocketPtr&, const AgentConnectOptions&) {
    log.push_back("free");
    loop.post([&] {
      agent->destroy();
      peer.server->close();
    });
  });
  req->write("abc");
  req->end("def");
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"socket", "prefinish", "finish", "response:200", "data:done", "end", "close", "free", "res-close"}));
  EXPECT_EQ(body, "abcdef");
  EXPECT_TRUE(req->destroyed());
  EXPECT_TRUE(req->writable_finished());
}

TEST(ClientRequestEventsTest, ContinueAndInformationPrecedeTheFinalResponse) {
  // Node (raw server: "100 Continue", 10 ms later a 103 with two headers, 10 ms later the 200;
  // the client sends its body on 'continue'):
  // ["continue","information:100:Continue:1.1:{}:[]","finish",
  //  "information:103:Early Hints:1.1:{\"link\":\"</a.css>; rel=preload\",\"x-info\":\"1\"}:[\"Link\",\"</a.css>; rel=preload\",\"X-Info\",\"1\"]",
  //  "response:200","data:ok","end","close"]
  core::Loop loop;
  RawPeer peer(loop, [&](const SocketPtr& s, const std::string&) {
    s->write("HTTP/1.1 100 Continue\r\n\r\n");
    loop.set_timeout([s] { s->write("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nX-Info: 1\r\n\r\n"); }, 10ms);
    loop.set_timeout([s] { s->end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"); }, 20ms);
  });
  Log log;
  auto options = to(peer.port);
  options.method = "POST";
  options.headers = HeaderList{{"Expect", "100-continue"}};
  auto req = request(loop, options, [&](const Req& res) {
    log.push_back("response:" + std::to_string(res->status_code()));
    res->events().data.on([&](std::string_view d) { log.push_back("data:" + std::string(d)); });
    res->events().end.on([&] { log.push_back("end"); });
  });
  req->events().continue_.on([&, r = req.get()] {
    log.push_back("continue");
    r->end("body");
  });
  req->events().information.on([&](const InformationInfo& i) {
    log.push_back("information:" + std::to_string(i.status_code) + ":" + i.status_message + ":" + i.http_version + ":" +
                  json(i.headers) + ":" + json(i.raw_headers));
  });
  req->events().finish.on([&] { log.push_back("finish"); });
  req->events().close.on([&] {
    log.push_back("close");
    peer.server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"continue", "information:100:Continue:1.1:{}:[]", "finish",
                      "information:103:Early Hints:1.1:{\"link\":\"</a.css>; rel=preload\",\"x-info\":\"1\"}:"
                      "[\"Link\",\"</a.css>; rel=preload\",\"X-Info\",\"1\"]",
                      "response:200", "data:ok", "end", "close"}));
}

TEST(ClientRequestEventsTest, UpgradeHandsOverTheSocketWithTheBytesAfterTheHead) {
  // Node (raw server answers 101 followed by "EXTRA" in the same write, then echoes; keepAlive agent):
  // {"log":["socket","finish","upgrade:101:echo:EXTRA:total=0:busy=0","close","socket-data:echo:ping"],
  //  "destroyed":true}
  core::Loop loop;
  RawPeer peer(
      loop,
      [](const SocketPtr& s, const std::string&) {
        s->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nEXTRA");
      },
      0, [](const SocketPtr& s, std::string_view d) { s->write("echo:" + std::string(d)); });
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  Log log;
  auto options = to(peer.port, agent);
  options.headers = HeaderList{{"Connection", "Upgrade"}, {"Upgrade", "echo"}};
  auto req = request(loop, options);
  req->events().response.on([&](const Req&) { log.push_back("response"); });
  req->events().socket.on([&](const SocketPtr&) { log.push_back("socket"); });
  req->events().finish.on([&] { log.push_back("finish"); });
  req->events().upgrade.on([&](const Req& res, const SocketPtr& socket, std::string_view head) {
    const auto* up = res->headers().find("upgrade");
    log.push_back("upgrade:" + std::to_string(res->status_code()) + ":" + value(up) + ":" + std::string(head) +
                  ":total=" + std::to_string(agent->total_socket_count()) +
                  ":busy=" + std::to_string(agent->sockets().size()));
    socket->events().error.on([](std::error_code) {});
    socket->write("ping");
    net::Socket* raw = socket.get();
    socket->events().data.once([&, raw](std::string_view d) {
      log.push_back("socket-data:" + std::string(d));
      raw->destroy();
      peer.server->close();
    });
  });
  req->events().close.on([&] { log.push_back("close"); });
  req->end();
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"socket", "finish", "upgrade:101:echo:EXTRA:total=0:busy=0", "close", "socket-data:echo:ping"}));
  EXPECT_TRUE(req->destroyed());
}

TEST(ClientRequestEventsTest, UpgradeWithoutAListenerDestroysTheSocket) {
  // Node (101 answer, nobody listens for 'upgrade'): ["close:101"]   (no 'response', no 'error')
  core::Loop loop;
  RawPeer peer(loop, [](const SocketPtr& s, const std::string&) {
    s->write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nEXTRA");
  });
  Log log;
  auto options = to(peer.port);
  options.headers = HeaderList{{"Connection", "Upgrade"}, {"Upgrade", "echo"}};
  auto req = request(loop, options);
  req->events().response.on([&](const Req&) { log.push_back("response"); });
  req->events().error.on([&](std::error_code ec) { log.push_back("error:" + code_and_message(ec)); });
  req->events().close.on([&, r = req.get()] {
    log.push_back("close:" + (r->res() ? std::to_string(r->res()->status_code()) : std::string("nores")));
    peer.server->close();
  });
  req->end();
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"close:101"}));
}

TEST(ClientRequestEventsTest, ConnectHandsOverTheTunnel) {
  // Node (CONNECT example.com:443 to an http server whose 'connect' answers 200 + "HELLO" and then
  // echoes one chunk as "got:<chunk>" before ending):
  // {"slog":["server-connect:CONNECT:example.com:443:0"],
  //  "log":["socket","connect:200:Connection Established:y:HELLO:total=0","close","tunnel:got:x"]}
  core::Loop loop;
  Log slog;
  auto server = create_server(loop, ServerOptions{}, RequestListener{});
  server->events().connect.on([&](const Req& req, const SocketPtr& socket, std::string_view head) {
    slog.push_back("server-connect:" + req->method() + ":" + req->url() + ":" + std::to_string(head.size()));
    socket->events().error.on([](std::error_code) {});
    socket->write("HTTP/1.1 200 Connection Established\r\nX-Proxy: y\r\n\r\nHELLO");
    net::Socket* raw = socket.get();
    socket->events().data.on([raw](std::string_view d) { raw->end("got:" + std::string(d)); });
  });
  const int port = test::listen(server);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  Log log;
  std::string got;
  auto options = to(port, agent, "example.com:443");
  options.method = "CONNECT";
  auto req = request(loop, options);
  req->events().response.on([&](const Req&) { log.push_back("response"); });
  req->events().socket.on([&](const SocketPtr&) { log.push_back("socket"); });
  req->events().connect.on([&](const Req& res, const SocketPtr& socket, std::string_view head) {
    log.push_back("connect:" + std::to_string(res->status_code()) + ":" + res->status_message() + ":" +
                  value(res->headers().find("x-proxy")) + ":" + std::string(head) +
                  ":total=" + std::to_string(agent->total_socket_count()));
    socket->events().error.on([](std::error_code) {});
    socket->write("x");
    net::Socket* raw = socket.get();
    socket->events().data.on([&](std::string_view d) { got.append(d); });
    socket->events().end.on([&, raw] {
      log.push_back("tunnel:" + got);
      raw->end();
      server->close();
    });
  });
  req->events().close.on([&] { log.push_back("close"); });
  req->end();
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(slog, (Log{"server-connect:CONNECT:example.com:443:0"}));
  EXPECT_EQ(log, (Log{"socket", "connect:200:Connection Established:y:HELLO:total=0", "close", "tunnel:got:x"}));
}

// A server that never answers; the request times out after 50 ms and is destroyed on 'timeout'.
Log run_timeout(bool via_option) {
  core::Loop loop;
  auto server = create_server(loop, ServerOptions{}, [](const Req&, const Res&) {});
  const int port = test::listen(server);
  Log log;
  const auto t0 = std::chrono::steady_clock::now();
  auto options = to(port);
  if (via_option) options.timeout = 50ms;
  auto req = get(loop, options, [&](const Req&) { log.push_back("response"); });
  req->events().socket.on([&](const SocketPtr& s) { log.push_back("socket:" + std::to_string(s->timeout().count())); });
  if (!via_option) req->set_timeout(50ms, [&] { log.push_back("callback"); });
  req->events().timeout.on([&, r = req.get()] {
    log.push_back("timeout:" + std::string(std::chrono::steady_clock::now() - t0 >= 45ms ? "true" : "false") + ":" +
                  std::to_string(r->socket()->timeout().count()));
    r->destroy();
  });
  req->events().error.on([&](std::error_code ec) { log.push_back("error:" + code_and_message(ec)); });
  req->events().close.on([&] {
    log.push_back("close");
    server->close();
    server->close_all_connections();
  });
  EXPECT_TRUE(loop.run_for(kLimit));
  return log;
}

TEST(ClientRequestEventsTest, SetTimeoutEmitsTimeoutOnAnIdleSocket) {
  // Node (req.setTimeout(50, cb); socket.timeout is undefined, i.e. none, at 'socket'):
  // ["socket:undefined","callback","timeout:true:50","error:ECONNRESET:socket hang up","close"]
  EXPECT_EQ(run_timeout(false), (Log{"socket:0", "callback", "timeout:true:50", "error:ECONNRESET:socket hang up", "close"}));
}

TEST(ClientRequestEventsTest, TimeoutOptionEmitsTimeoutOnAnIdleSocket) {
  // Node (option timeout: 50): ["socket:50","timeout:true:50","error:ECONNRESET:socket hang up","close"]
  EXPECT_EQ(run_timeout(true), (Log{"socket:50", "timeout:true:50", "error:ECONNRESET:socket hang up", "close"}));
}

// ================================ ClientRequest: abort, destroy, AbortSignal ================================

TEST(ClientRequestAbortTest, AbortBeforeTheSocketEmitsCloseThenAbort) {
  // Node (abort() twice right after http.get() with agent: false; checked at exit):
  // {"log":["aborted=true:destroyed=true","close","abort"],"requests":0,"free":0}
  core::Loop loop;
  Peer peer(loop);
  Log log;
  auto req = get(loop, to(peer.port), [&](const Req&) { log.push_back("response"); });
  req->events().socket.on([&](const SocketPtr&) { log.push_back("socket"); });
  req->events().abort.on([&] { log.push_back("abort"); });
  req->events().error.on([&](std::error_code ec) { log.push_back("error:" + core::node_code(ec)); });
  req->events().close.on([&] { log.push_back("close"); });
  req->abort();
  req->abort();
  log.push_back(std::string("aborted=") + (req->aborted() ? "true" : "false") + ":destroyed=" + (req->destroyed() ? "true" : "false"));
  loop.set_timeout([&] { peer.server->close(); }, 50ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"aborted=true:destroyed=true", "close", "abort"}));
  EXPECT_EQ(peer.ports.size(), 0u);
  EXPECT_EQ(req->agent()->free_sockets().size(), 0u);
}

TEST(ClientRequestAbortTest, AbortBeforeTheSocketDoesNotPoolTheUnusedSocket) {
  // Node (keepAlive agent, abort() right after http.get(); the server is closed 50 ms later and
  // the process then exits; the agent's 'free' handler destroys the socket because it never served
  // the request, socket._httpMessage being unset):
  // {"freeAt50":0,"requests":0,"free":0,"total":0}
  core::Loop loop;
  Peer peer(loop);
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  auto req = get(loop, to(peer.port, agent), [](const Req&) {});
  req->abort();
  std::size_t free_at_50ms = 99;
  loop.set_timeout(
      [&] {
        free_at_50ms = agent->free_sockets().size();
        peer.server->close();
      },
      50ms);
  EXPECT_TRUE(loop.run_for(3s));  // Node exits: nothing is left open
  EXPECT_EQ(free_at_50ms, 0u);
  EXPECT_EQ(peer.ports.size(), 0u);
  EXPECT_EQ(agent->free_sockets().size(), 0u);
  EXPECT_EQ(agent->total_socket_count(), 0u);
  agent->destroy();  // cleanup when the check above failed
  peer.server->close_all_connections();
  loop.run_for(kLimit);
}

TEST(ClientRequestAbortTest, AbortAfterTheResponseStarted) {
  // Node (Content-Length 10, "abc" sent, abort() in the first 'data'):
  // ["response","data:abc","aborted=true","abort","res-aborted","close","res-error:ECONNRESET:aborted",
  //  "res-close:true:false"]   (res-close: res.aborted, res.complete)
  core::Loop loop;
  Peer peer(loop, [](const Req&, const Res& res) {
    res->write_head(200, HeaderList{{"Content-Length", "10"}});
    res->write("abc");
  });
  Log log;
  ReqPtr req;
  req = get(loop, to(peer.port), [&](const Req& res) {
    log.push_back("response");
    IncomingMessage* r = res.get();
    res->events().data.on([&](std::string_view d) {
      log.push_back("data:" + std::string(d));
      req->abort();
      log.push_back(std::string("aborted=") + (req->aborted() ? "true" : "false"));
    });
    res->events().aborted.on([&] { log.push_back("res-aborted"); });
    res->events().error.on([&](std::error_code ec) { log.push_back("res-error:" + code_and_message(ec)); });
    res->events().end.on([&] { log.push_back("res-end"); });
    res->events().close.on([&, r] {
      log.push_back(std::string("res-close:") + (r->aborted() ? "true" : "false") + ":" + (r->complete() ? "true" : "false"));
    });
  });
  req->events().abort.on([&] { log.push_back("abort"); });
  req->events().error.on([&](std::error_code ec) { log.push_back("error:" + core::node_code(ec)); });
  req->events().close.on([&] { log.push_back("close"); });
  loop.set_timeout(
      [&] {
        peer.server->close();
        peer.server->close_all_connections();
      },
      100ms);
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"response", "data:abc", "aborted=true", "abort", "res-aborted", "close",
                      "res-error:ECONNRESET:aborted", "res-close:true:false"}));
}

// destroy() at one of several points, on a request through a keepAlive agent. `error` gives the
// request destroy() an ECANCELED error (Node: an Error with code 'ECANCELED').
enum class DestroyAt { before, waiting, response };

Log run_destroy(DestroyAt at, bool error) {
  core::Loop loop;
  ReqPtr req;
  const std::error_code cancel = error ? std::make_error_code(std::errc::operation_canceled) : std::error_code{};
  Peer peer(loop, [&](const Req&, const Res& res) {
    if (at == DestroyAt::waiting) req->destroy(cancel);
    if (at == DestroyAt::response) {
      res->write_head(200, HeaderList{{"Content-Length", "10"}});
      res->write("abc");
    }
  });
  Log log;
  req = get(loop, to(peer.port, Agent::create(loop, AgentOptions{.keep_alive = true})), [&](const Req& res) {
    log.push_back("response");
    res->events().data.on([&](std::string_view d) {
      log.push_back("data:" + std::string(d));
      req->destroy(cancel);
      log.push_back(std::string("destroyed=") + (req->destroyed() ? "true" : "false"));
    });
    res->events().aborted.on([&] { log.push_back("res-aborted"); });
    res->events().error.on([&](std::error_code ec) { log.push_back("res-error:" + code_and_message(ec)); });
    res->events().end.on([&] { log.push_back("res-end"); });
    res->events().close.on([&] { log.push_back("res-close"); });
  });
  req->events().socket.on([&](const SocketPtr&) { log.push_back("socket"); });
  req->events().abort.on([&] { log.push_back("abort"); });
  req->events().error.on([&](std::error_code ec) {
    log.push_back("error:" + (ec == cancel ? core::node_code(ec) : code_and_message(ec)));
  });
  req->events().close.on([&] { log.push_back("close"); });
  if (at == DestroyAt::before) {
    req->destroy(cancel);
    log.push_back(std::string("destroyed=") + (req->destroyed() ? "true" : "false"));
  }
  loop.set_timeout(
      [&] {
        peer.server->close();
        peer.server->close_all_connections();
      },
      100ms);
  EXPECT_TRUE(loop.run_for(kLimit));
  return log;
}

TEST(ClientRequestAbortTest, DestroyBeforeConnecting) {
  // Node: ["destroyed=true","error:ECONNRESET:socket hang up","close"]
  EXPECT_EQ(run_destroy(DestroyAt::before, false), (Log{"destroyed=true", "error:ECONNRESET:socket hang up", "close"}));
}

TEST(ClientRequestAbortTest, DestroyWhileWaitingForTheResponse) {
  // Node (destroy() when the server got the request): ["socket","error:ECONNRESET:socket hang up","close"]
  EXPECT_EQ(run_destroy(DestroyAt::waiting, false), (Log{"socket", "error:ECONNRESET:socket hang up", "close"}));
}

TEST(ClientRequestAbortTest, DestroyWithAnErrorWhileWaitingForTheResponse) {
  // Node (destroy(err) with err.code 'ECANCELED'): ["socket","error:ECANCELED:stop","close"]
  EXPECT_EQ(run_destroy(DestroyAt::waiting, true), (Log{"socket", "error:ECANCELED", "close"}));
}

TEST(ClientRequestAbortTest, DestroyAfterTheResponseStarted) {
  // Node: ["socket","response","data:abc","destroyed=true","res-aborted","close",
  //        "res-error:ECONNRESET:aborted","res-close"]
  EXPECT_EQ(run_destroy(DestroyAt::response, false),
            (Log{"socket", "response", "data:abc", "destroyed=true", "res-aborted", "close",
                 "res-error:ECONNRESET:aborted", "res-close"}));
}

TEST(ClientRequestAbortTest, DestroyWithAnErrorAfterTheResponseStarted) {
  // Node: ["socket","response","data:abc","destroyed=true","error:ECANCELED:stop","res-aborted","close",
  //        "res-error:ECONNRESET:aborted","res-close"]
  EXPECT_EQ(run_destroy(DestroyAt::response, true),
            (Log{"socket", "response", "data:abc", "destroyed=true", "error:ECANCELED", "res-aborted", "close",
                 "res-error:ECONNRESET:aborted", "res-close"}));
}

// The request's AbortController fires before the request, when the server got it, or in the first
// 'data' of the response.
Log run_signal(DestroyAt at) {
  core::Loop loop;
  core::AbortController controller;
  Peer peer(loop, [&](const Req&, const Res& res) {
    if (at == DestroyAt::waiting) controller.abort();
    if (at == DestroyAt::response) {
      res->write_head(200, HeaderList{{"Content-Length", "10"}});
      res->write("abc");
    }
  });
  Log log;
  if (at == DestroyAt::before) controller.abort();
  auto options = to(peer.port);
  options.signal = controller.signal();
  auto req = get(loop, options, [&](const Req& res) {
    log.push_back("response");
    res->events().data.on([&](std::string_view d) {
      log.push_back("data:" + std::string(d));
      controller.abort();
    });
    res->events().aborted.on([&] { log.push_back("res-aborted"); });
    res->events().error.on([&](std::error_code ec) { log.push_back("res-error:" + code_and_message(ec)); });
    res->events().close.on([&] { log.push_back("res-close"); });
  });
  req->events().socket.on([&](const SocketPtr&) { log.push_back("socket"); });
  req->events().abort.on([&] { log.push_back("abort"); });
  req->events().error.on([&](std::error_code ec) { log.push_back("error:" + code_and_message(ec)); });
  req->events().close.on([&, r = req.get()] {
    log.push_back(std::string("close:destroyed=") + (r->destroyed() ? "true" : "false") +
                  ":aborted=" + (r->aborted() ? "true" : "false"));
  });
  loop.set_timeout(
      [&] {
        peer.server->close();
        peer.server->close_all_connections();
      },
      100ms);
  EXPECT_TRUE(loop.run_for(kLimit));
  return log;
}

TEST(ClientRequestAbortTest, AbortSignalAbortedBeforeTheRequest) {
  // Node: ["error:ABORT_ERR:AbortError:The operation was aborted","close:destroyed=true:aborted=false"]
  // (no 'socket': the request is destroyed before its socket arrives)
  EXPECT_EQ(run_signal(DestroyAt::before),
            (Log{"error:ABORT_ERR:The operation was aborted", "close:destroyed=true:aborted=false"}));
}

TEST(ClientRequestAbortTest, AbortSignalWhileWaitingForTheResponse) {
  // Node: ["socket","error:ABORT_ERR:AbortError:The operation was aborted","close:destroyed=true:aborted=false"]
  EXPECT_EQ(run_signal(DestroyAt::waiting),
            (Log{"socket", "error:ABORT_ERR:The operation was aborted", "close:destroyed=true:aborted=false"}));
}

TEST(ClientRequestAbortTest, AbortSignalAfterTheResponseStarted) {
  // Node: ["socket","response","data:abc","error:ABORT_ERR:AbortError:The operation was aborted","res-aborted",
  //        "close:destroyed=true:aborted=false","res-error:ECONNRESET:aborted","res-close"]
  EXPECT_EQ(run_signal(DestroyAt::response),
            (Log{"socket", "response", "data:abc", "error:ABORT_ERR:The operation was aborted", "res-aborted",
                 "close:destroyed=true:aborted=false", "res-error:ECONNRESET:aborted", "res-close"}));
}

TEST(ClientRequestAbortTest, ServerDyingInTheMiddleOfTheBodyAbortsTheResponse) {
  // Node (Content-Length 10, "abc", then the server destroys the connection 20 ms later):
  // ["response","data:abc","res-aborted","close","res-error:ECONNRESET:aborted",
  //  "res-close:aborted=true:complete=false"]
  core::Loop loop;
  Peer peer(loop, [&](const Req& req, const Res& res) {
    res->write_head(200, HeaderList{{"Content-Length", "10"}});
    SocketPtr s = req->socket();
    res->write("abc", [&loop, s](std::error_code) { loop.set_timeout([s] { s->destroy(); }, 20ms); });
  });
  Log log;
  auto req = get(loop, to(peer.port, Agent::create(loop, AgentOptions{.keep_alive = true})), [&](const Req& res) {
    log.push_back("response");
    IncomingMessage* r = res.get();
    res->events().data.on([&](std::string_view d) { log.push_back("data:" + std::string(d)); });
    res->events().aborted.on([&] { log.push_back("res-aborted"); });
    res->events().error.on([&](std::error_code ec) { log.push_back("res-error:" + code_and_message(ec)); });
    res->events().end.on([&] { log.push_back("res-end"); });
    res->events().close.on([&, r] {
      log.push_back(std::string("res-close:aborted=") + (r->aborted() ? "true" : "false") +
                    ":complete=" + (r->complete() ? "true" : "false"));
      loop.post([&] { peer.server->close(); });
    });
  });
  req->events().error.on([&](std::error_code ec) { log.push_back("error:" + core::node_code(ec)); });
  req->events().close.on([&] { log.push_back("close"); });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"response", "data:abc", "res-aborted", "close", "res-error:ECONNRESET:aborted",
                      "res-close:aborted=true:complete=false"}));
}

// ================================ ClientRequest: headers and options ================================

TEST(ClientRequestHeadersTest, HeaderMethodsBeforeAndAfterFlushHeaders) {
  // Node (POST with headers {'X-A': '1'}, then setHeader/getHeader/... and flushHeaders()):
  // {"log":["get:two:[\"c1\",\"c2\"]:undefined","names:[\"x-a\",\"host\",\"x-b\",\"x-c\",\"x-gone\"]",
  //  "raw:[\"X-A\",\"Host\",\"X-B\",\"X-c\",\"X-Gone\"]","has:true:false",
  //  "removed:false:[\"x-a\",\"host\",\"x-b\",\"x-c\"]","headersSent:false","headersSent:true",
  //  "set:ERR_HTTP_HEADERS_SENT:Cannot set headers after they are sent to the client",
  //  "remove:ERR_HTTP_HEADERS_SENT:Cannot remove headers after they are sent to the client","get-after:1"],
  //  "seen":["[\"X-A\",\"Host\",\"X-B\",\"X-c\",\"X-c\",\"Connection\",\"Transfer-Encoding\"]","two|c1, c2"]}
  core::Loop loop;
  Log seen;
  Peer peer(loop, [&](const Req& req, const Res& res) {
    Log names;
    for (std::size_t i = 0; i < req->raw_headers().size(); i += 2) names.push_back(req->raw_headers()[i]);
    seen.push_back(json(names));
    seen.push_back(value(req->headers().find("x-b")) + "|" + value(req->headers().find("x-c")));
    req->resume();
    req->events().end.on([res] { res->end("ok"); });
  });
  Log log;
  auto options = to(peer.port);
  options.method = "POST";
  options.headers = HeaderList{{"X-A", "1"}};
  auto req = request(loop, options);
  req->set_header("X-B", "two");
  req->set_header("X-c", std::vector<std::string>{"c1", "c2"});
  req->set_header("X-Gone", "x");
  log.push_back("get:" + value(req->get_header("x-b")) + ":" + value(req->get_header("X-C")) + ":" + value(req->get_header("x-none")));
  log.push_back("names:" + json(req->get_header_names()));
  log.push_back("raw:" + json(req->get_raw_header_names()));
  log.push_back(std::string("has:") + (req->has_header("X-GONE") ? "true" : "false") + ":" + (req->has_header("x-none") ? "true" : "false"));
  req->remove_header("x-gone");
  log.push_back(std::string("removed:") + (req->has_header("x-gone") ? "true" : "false") + ":" + json(req->get_header_names()));
  log.push_back(std::string("headersSent:") + (req->headers_sent() ? "true" : "false"));
  req->flush_headers();
  log.push_back(std::string("headersSent:") + (req->headers_sent() ? "true" : "false"));
  try {
    req->set_header("X-Late", "1");
    log.push_back("set:no-throw");
  } catch (const core::Error& e) {
    log.push_back("set:" + e.node_code() + ":" + e.what());
  }
  try {
    req->remove_header("X-A");
    log.push_back("remove:no-throw");
  } catch (const core::Error& e) {
    log.push_back("remove:" + e.node_code() + ":" + e.what());
  }
  log.push_back("get-after:" + value(req->get_header("x-a")));
  req->events().response.on([&](const Req& res) {
    res->resume();
    res->events().end.on([&] { peer.server->close(); });
  });
  req->end("body");
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"get:two:[\"c1\",\"c2\"]:undefined", "names:[\"x-a\",\"host\",\"x-b\",\"x-c\",\"x-gone\"]",
                      "raw:[\"X-A\",\"Host\",\"X-B\",\"X-c\",\"X-Gone\"]", "has:true:false",
                      "removed:false:[\"x-a\",\"host\",\"x-b\",\"x-c\"]", "headersSent:false", "headersSent:true",
                      "set:ERR_HTTP_HEADERS_SENT:Cannot set headers after they are sent to the client",
                      "remove:ERR_HTTP_HEADERS_SENT:Cannot remove headers after they are sent to the client",
                      "get-after:1"}));
  EXPECT_EQ(seen, (Log{"[\"X-A\",\"Host\",\"X-B\",\"X-c\",\"X-c\",\"Connection\",\"Transfer-Encoding\"]", "two|c1, c2"}));
}

// Sends one request built by `setup` (ended with `body`) to a raw peer that answers 200 "ok" and
// closes; returns the request head lines as received (the port replaced by PORT) and the body bytes.
struct RawExchange {
  std::vector<std::string> head;
  std::string body;
  Log log;
};

RawExchange run_raw(const std::function<void(ClientRequestOptions&)>& setup,
                    const std::function<void(ClientRequest&, Log&)>& after_create = {}, const std::string& body = {}) {
  core::Loop loop;
  RawExchange out;
  RawPeer peer(
      loop,
      [&](const SocketPtr& s, const std::string& received) {
        out.head = head_lines(received, s->local_port());
        out.body = received.substr(received.find("\r\n\r\n") + 4);
        s->end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
      },
      body.size());
  auto options = to(peer.port);
  options.path = "/p";
  setup(options);
  auto req = request(loop, options, [&](const Req& res) {
    res->resume();
    res->events().end.on([&] { loop.post([&] { peer.server->close(); }); });
  });
  if (after_create) after_create(*req, out.log);
  req->end(body);
  EXPECT_TRUE(loop.run_for(kLimit));
  return out;
}

TEST(ClientRequestHeadersTest, RawArrayHeadersAreSentAsListedAndLockTheHead) {
  // Node (headers ['X-A','1','x-a','2','Host','example'], agent: false):
  // {"head":["GET /p HTTP/1.1","X-A: 1","x-a: 2","Host: example","Connection: close"],
  //  "log":["headersSent:true","set:ERR_HTTP_HEADERS_SENT"]}
  const auto r = run_raw(
      [](ClientRequestOptions& o) {
        o.headers = HeaderList{{"X-A", "1"}, {"x-a", "2"}, {"Host", "example"}};
        o.headers_are_raw_array = true;
      },
      [](ClientRequest& req, Log& log) {
        log.push_back(std::string("headersSent:") + (req.headers_sent() ? "true" : "false"));
        try {
          req.set_header("X-Late", "1");
          log.push_back("set:no-throw");
        } catch (const core::Error& e) {
          log.push_back("set:" + e.node_code());
        }
      });
  EXPECT_EQ(r.head, (Log{"GET /p HTTP/1.1", "X-A: 1", "x-a: 2", "Host: example", "Connection: close"}));
  EXPECT_EQ(r.log, (Log{"headersSent:true", "set:ERR_HTTP_HEADERS_SENT"}));
}

TEST(ClientRequestHeadersTest, SetHostFalseSendsNoHostHeader) {
  // Node (setHost: false, headers {'X-A': '1'}):
  // {"head":["GET /p HTTP/1.1","X-A: 1","Connection: close"],"log":["headersSent:false"]}
  const auto r = run_raw(
      [](ClientRequestOptions& o) {
        o.set_host = false;
        o.headers = HeaderList{{"X-A", "1"}};
      },
      [](ClientRequest& req, Log& log) { log.push_back(std::string("headersSent:") + (req.headers_sent() ? "true" : "false")); });
  EXPECT_EQ(r.head, (Log{"GET /p HTTP/1.1", "X-A: 1", "Connection: close"}));
  EXPECT_EQ(r.log, (Log{"headersSent:false"}));
}

TEST(ClientRequestHeadersTest, SetDefaultHeadersFalseSendsOnlyTheGivenHeaders) {
  // Node 20.20.2 predates the setDefaultHeaders option and ignores it (its head then still has
  // "Host: 127.0.0.1:PORT" and "Connection: close"). The option as the spec describes it, and as
  // Node 22's ClientRequest constructor implements it, is setHost false plus _removedConnection,
  // _removedContLen and _removedTE; Node 20 with exactly that (POST, headers {'X-A': '1'},
  // end('abc')) sends: ["POST /p HTTP/1.1","X-A: 1","","abc"]
  const auto r = run_raw(
      [](ClientRequestOptions& o) {
        o.method = "POST";
        o.set_default_headers = false;
        o.headers = HeaderList{{"X-A", "1"}};
      },
      {}, "abc");
  EXPECT_EQ(r.head, (Log{"POST /p HTTP/1.1", "X-A: 1"}));
  EXPECT_EQ(r.body, "abc");
}

TEST(ClientRequestHeadersTest, UniqueHeadersAreSentOnceJoinedWithSemicolons) {
  // Node (uniqueHeaders ['X-U']; setHeader('X-U', ['a','b']); setHeader('X-M', ['a','b'])):
  // {"head":["GET /p HTTP/1.1","Host: 127.0.0.1:PORT","X-U: a; b","X-M: a","X-M: b","Connection: close"]}
  const auto r = run_raw([](ClientRequestOptions& o) { o.unique_headers = std::vector<std::string>{"X-U"}; },
                         [](ClientRequest& req, Log&) {
                           req.set_header("X-U", std::vector<std::string>{"a", "b"});
                           req.set_header("X-M", std::vector<std::string>{"a", "b"});
                         });
  EXPECT_EQ(r.head, (Log{"GET /p HTTP/1.1", "Host: 127.0.0.1:PORT", "X-U: a; b", "X-M: a", "X-M: b", "Connection: close"}));
}

// One GET (agent: false) to a raw peer that answers `response` to it; logs the response (with
// `describe`) or the error, then 'end' and 'close'.
Log run_parse(const std::string& response, const std::function<void(ClientRequestOptions&)>& setup,
              const std::function<std::string(const Req&)>& describe) {
  core::Loop loop;
  RawPeer peer(loop, [response](const SocketPtr& s, const std::string&) { s->end(response); });
  Log log;
  auto options = to(peer.port);
  setup(options);
  auto req = get(loop, options, [&](const Req& res) {
    log.push_back("response:" + std::to_string(res->status_code()) + ":" + describe(res));
    res->resume();
    res->events().end.on([&] { log.push_back("end"); });
  });
  req->events().error.on([&](std::error_code ec) { log.push_back("error:" + core::node_code(ec)); });
  req->events().close.on([&] {
    log.push_back("close");
    loop.post([&] { peer.server->close(); });
  });
  EXPECT_TRUE(loop.run_for(kLimit));
  return log;
}

TEST(ClientRequestOptionsTest, MaxHeaderSizeTurnsABigResponseHeadIntoHeaderOverflow) {
  // Node (a 200-byte X-Big header; default, then maxHeaderSize 100):
  // default: ["response:200:[200,null,null,null]","end","close"]
  // maxHeaderSize 100: ["error:HPE_HEADER_OVERFLOW:Parse Error: Header overflow","close"]
  const std::string response = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(200, 'x') + "\r\nContent-Length: 2\r\n\r\nok";
  auto describe = [](const Req& res) { return "x-big=" + std::to_string(value(res->headers().find("x-big")).size()); };
  EXPECT_EQ(run_parse(response, [](ClientRequestOptions&) {}, describe), (Log{"response:200:x-big=200", "end", "close"}));
  EXPECT_EQ(run_parse(response, [](ClientRequestOptions& o) { o.max_header_size = 100; }, describe),
            (Log{"error:HPE_HEADER_OVERFLOW", "close"}));
}

TEST(ClientRequestOptionsTest, InsecureHttpParserAcceptsAControlCharacterInAHeaderValue) {
  // Node ("X-Bad: a\x01b"; default, then insecureHTTPParser true):
  // default: ["error:HPE_INVALID_HEADER_TOKEN:Parse Error: Invalid header value char","close"]
  // insecure: ["response:200:[null,\"a\\u0001b\",null,null]","end","close"]
  const std::string response = "HTTP/1.1 200 OK\r\nX-Bad: a\x01" "b\r\nContent-Length: 2\r\n\r\nok";
  auto describe = [](const Req& res) { return "x-bad=" + value(res->headers().find("x-bad")); };
  EXPECT_EQ(run_parse(response, [](ClientRequestOptions&) {}, describe), (Log{"error:HPE_INVALID_HEADER_TOKEN", "close"}));
  EXPECT_EQ(run_parse(response, [](ClientRequestOptions& o) { o.insecure_http_parser = true; }, describe),
            (Log{"response:200:x-bad=a\x01" "b", "end", "close"}));
}

TEST(ClientRequestOptionsTest, JoinDuplicateHeadersKeepsEveryValueOfASingletonHeader) {
  // Node (X-D twice, Content-Type twice; default, then joinDuplicateHeaders true):
  // default: ["response:200:[null,null,\"a, b\",\"t1\"]","end","close"]
  // join:    ["response:200:[null,null,\"a, b\",\"t1, t2\"]","end","close"]
  const std::string response =
      "HTTP/1.1 200 OK\r\nX-D: a\r\nX-D: b\r\nContent-Type: t1\r\nContent-Type: t2\r\nContent-Length: 2\r\n\r\nok";
  auto describe = [](const Req& res) {
    return "x-d=" + value(res->headers().find("x-d")) + ":content-type=" + value(res->headers().find("content-type"));
  };
  EXPECT_EQ(run_parse(response, [](ClientRequestOptions&) {}, describe),
            (Log{"response:200:x-d=a, b:content-type=t1", "end", "close"}));
  EXPECT_EQ(run_parse(response, [](ClientRequestOptions& o) { o.join_duplicate_headers = true; }, describe),
            (Log{"response:200:x-d=a, b:content-type=t1, t2", "end", "close"}));
}

TEST(ClientRequestOptionsTest, SocketPathReachesAUnixDomainServer) {
  // Node (socketPath to an http server listening on a path, keepAlive agent):
  // {"log":["host:localhost","keys:[\"localhost:80::PATH\"]","body:unix","free:[\"localhost:80::PATH\"]"],
  //  "seen":["localhost|/u|undefined"]}   (seen: Host header | url | remoteAddress)
  core::Loop loop;
  test::TempDir dir;
  const std::string path = dir.file("s.sock");
  Log seen;
  auto server = create_server(loop, ServerOptions{}, [&](const Req& req, const Res& res) {
    seen.push_back(value(req->headers().find("host")) + "|" + req->url() + "|" + req->socket()->remote_address());
    res->end("unix");
  });
  server->listen(net::ListenOptions{.path = path});
  auto agent = Agent::create(loop, AgentOptions{.keep_alive = true});
  Log log;
  std::string body;
  ClientRequestOptions options;
  options.socket_path = path;
  options.path = "/u";
  options.agent = agent;
  auto replace = [&](std::string s) {
    if (auto p = s.find(path); p != std::string::npos) s.replace(p, path.size(), "PATH");
    return s;
  };
  auto req = get(loop, options, [&](const Req& res) {
    res->events().data.on([&](std::string_view d) { body.append(d); });
    res->events().end.on([&] { log.push_back("body:" + body); });
  });
  req->events().socket.on([&](const SocketPtr&) { log.push_back("keys:[\"" + replace(keys(agent->sockets())) + "\"]"); });
  log.push_back("host:" + req->host());
  agent->events().free.on([&](const SocketPtr&, const AgentConnectOptions&) {
    log.push_back("free:[\"" + replace(keys(agent->free_sockets())) + "\"]");
    agent->destroy();
    server->close();
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"host:localhost", "keys:[\"localhost:80::PATH\"]", "body:unix", "free:[\"localhost:80::PATH\"]"}));
  EXPECT_EQ(seen, (Log{"localhost|/u|"}));
}

// One GET (agent: false) built by `setup` to an http server on 127.0.0.1; returns the client's
// view ("response:<status>:<socket.localAddress>:<socket.remoteFamily>" or "error:<code>") and the
// server's ("<Host with the port as PORT>|<remoteAddress>|<remoteFamily>").
std::pair<Log, Log> run_connect_options(const std::function<void(ClientRequestOptions&, int port)>& setup) {
  core::Loop loop;
  Log seen;
  Peer peer(loop, [&](const Req& req, const Res& res) {
    std::string host = value(req->headers().find("host"));
    if (auto p = host.rfind(':'); p != std::string::npos) host = host.substr(0, p + 1) + "PORT";
    seen.push_back(host + "|" + req->socket()->remote_address() + "|" + req->socket()->remote_family());
    res->end("ok");
  });
  Log log;
  ClientRequestOptions options;
  options.no_agent = true;
  setup(options, peer.port);
  auto req = get(loop, options, [&](const Req& res) {
    log.push_back("response:" + std::to_string(res->status_code()) + ":" + res->socket()->local_address() + ":" +
                  res->socket()->remote_family());
    res->resume();
  });
  req->events().error.on([&](std::error_code ec) { log.push_back("error:" + core::node_code(ec)); });
  req->events().close.on([&] { peer.server->close(); });
  EXPECT_TRUE(loop.run_for(kLimit));
  return {log, seen};
}

TEST(ClientRequestOptionsTest, LocalAddressBindsTheClientSocket) {
  // Node (host '127.0.0.1', localAddress '127.0.0.1'):
  // log ["response:200:127.0.0.1:IPv4"], seen ["127.0.0.1:PORT|127.0.0.1|IPv4"]
  const auto [log, seen] = run_connect_options([](ClientRequestOptions& o, int port) {
    o.host = "127.0.0.1";
    o.port = port;
    o.local_address = "127.0.0.1";
  });
  EXPECT_EQ(log, (Log{"response:200:127.0.0.1:IPv4"}));
  EXPECT_EQ(seen, (Log{"127.0.0.1:PORT|127.0.0.1|IPv4"}));
}

TEST(ClientRequestOptionsTest, Family4ResolvesLocalhostToIPv4) {
  // Node (host 'localhost', family 4, server on 127.0.0.1 only):
  // log ["response:200:127.0.0.1:IPv4"], seen ["localhost:PORT|127.0.0.1|IPv4"]
  const auto [log, seen] = run_connect_options([](ClientRequestOptions& o, int port) {
    o.host = "localhost";
    o.port = port;
    o.family = 4;
  });
  EXPECT_EQ(log, (Log{"response:200:127.0.0.1:IPv4"}));
  EXPECT_EQ(seen, (Log{"localhost:PORT|127.0.0.1|IPv4"}));
}

TEST(ClientRequestOptionsTest, CustomLookupResolvesAnyName) {
  // Node (host 'example.invalid', lookup answering 127.0.0.1/4; it was called once, with
  // options.family undefined, i.e. 0 here):
  // log ["response:200:127.0.0.1:IPv4"], seen ["example.invalid:PORT|127.0.0.1|IPv4"],
  // lookups ["example.invalid:undefined"]
  Log lookups;
  const auto [log, seen] = run_connect_options([&](ClientRequestOptions& o, int port) {
    o.host = "example.invalid";
    o.port = port;
    o.lookup = [&](const std::string& host, int family, net::LookupCallback cb) {
      lookups.push_back(host + ":" + std::to_string(family));
      cb({}, "127.0.0.1", 4);
    };
  });
  EXPECT_EQ(log, (Log{"response:200:127.0.0.1:IPv4"}));
  EXPECT_EQ(seen, (Log{"example.invalid:PORT|127.0.0.1|IPv4"}));
  EXPECT_EQ(lookups, (Log{"example.invalid:0"}));
}

constexpr std::size_t kTotal = 4 * 1024 * 1024;

TEST(ClientRequestOptionsTest, PausedResponseStopsTheSocketAndResumeReadsTheRest) {
  // Node (a 4 MiB body written with backpressure; pause() in the first 'data', socket.bytesRead
  // compared 100 ms and 200 ms later, then resume()):
  // ["stalled:true:partial:true:buffered:true","end:true"]
  core::Loop loop;
  Peer peer(loop, [&](const Req&, const Res& res) {
    res->write_head(200, HeaderList{{"Content-Length", std::to_string(kTotal)}});
    auto sent = std::make_shared<std::size_t>(0);
    auto pump = std::make_shared<std::function<void()>>();
    ServerResponse* r = res.get();
    *pump = [r, sent, pump_weak = std::weak_ptr<std::function<void()>>(pump)] {
      const std::string chunk(64 * 1024, 'a');
      while (*sent < kTotal) {
        *sent += chunk.size();
        if (!r->write(chunk)) {
          if (auto p = pump_weak.lock()) r->events().drain.once([p] { (*p)(); });
          return;
        }
      }
      r->end();
    };
    (*pump)();
  });
  Log log;
  std::size_t got = 0;
  bool paused = false;
  auto req = get(loop, to(peer.port), [&](const Req& res) {
    IncomingMessage* r = res.get();
    res->events().data.on([&, r](std::string_view d) {
      got += d.size();
      if (paused) return;
      paused = true;
      r->pause();
      loop.set_timeout(
          [&, r] {
            const auto a = r->socket()->bytes_read();
            loop.set_timeout(
                [&, r, a] {
                  const auto b = r->socket()->bytes_read();
                  log.push_back(std::string("stalled:") + (a == b ? "true" : "false") + ":partial:" +
                                (b < kTotal ? "true" : "false") + ":buffered:" + (r->readable_length() > 0 ? "true" : "false"));
                  r->resume();
                },
                100ms);
          },
          100ms);
    });
    res->events().end.on([&] {
      log.push_back(std::string("end:") + (got == kTotal ? "true" : "false"));
      peer.server->close();
    });
  });
  ASSERT_TRUE(loop.run_for(kLimit));
  EXPECT_EQ(log, (Log{"stalled:true:partial:true:buffered:true", "end:true"}));
}

}  // namespace
}  // namespace httpx::http
