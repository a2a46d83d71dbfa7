/// A TCP or Unix-domain stream socket as a duplex stream. Node: `net.Socket`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "httpx/core/event.hpp"
#include "httpx/core/loop.hpp"
#include "httpx/core/stream.hpp"

namespace httpx::net {

namespace detail {
class Transport;
}

/// The answer of a lookup: an error, or an address and its family (4 or 6).
using LookupCallback = std::function<void(std::error_code ec, std::string address, int family)>;
/// A custom name resolver with `dns.lookup`'s shape: resolve `hostname`, restricted to `family`
/// (0 = any), and answer through the callback (now or later). Node: the `lookup` option.
using LookupFunction = std::function<void(const std::string& hostname, int family, LookupCallback callback)>;

/// The events of a socket: the stream events plus Node's socket events.
struct SocketEvents : core::StreamEvents {
  core::Signal<> connect;  ///< Node: 'connect' — the connection is established.
  core::Signal<> ready;    ///< Node: 'ready' — right after 'connect'.
  core::Signal<> timeout;  ///< Node: 'timeout' — idle for set_timeout(); the socket stays open.
  /// Node: 'lookup' (err, address, family, host) — after resolving a host name (not for IPs).
  core::Signal<std::error_code, const std::string&, int, const std::string&> lookup;
  /// Node: 'free' — emitted by the HTTP client when the socket's request is done; its agent
  /// listens (http::Agent).
  core::Signal<> free;
  /// Node: 'agentRemove' — emit it to take the socket out of its agent's pools (what the HTTP
  /// client does before handing a socket over for an upgrade or CONNECT).
  core::Signal<> agent_remove;
  void remove_all_listeners() override {
    core::StreamEvents::remove_all_listeners();
    connect.remove_all_listeners();
    ready.remove_all_listeners();
    timeout.remove_all_listeners();
    lookup.remove_all_listeners();
    free.remove_all_listeners();
    agent_remove.remove_all_listeners();
  }
};

/// Options of `Socket::connect`. Node: `socket.connect(options)`.
struct ConnectOptions {
  std::string host = "localhost";   ///< Host name or IP address; Node default 'localhost'.
  int port = 0;                     ///< Required for TCP (0..65535).
  int family = 0;                   ///< 4, 6, or 0 for both; Node: family.
  std::string local_address{};        ///< Bind to this local address first; Node: localAddress.
  int local_port = 0;               ///< Bind to this local port first; Node: localPort.
  LookupFunction lookup{};            ///< Custom resolver; default getaddrinfo; Node: lookup.
  /// getaddrinfo flags for the default lookup, as Node's dns constants: kHintAddrConfig,
  /// kHintV4Mapped, kHintAll (or 0). Node: hints.
  int hints = 0;
  std::string path{};                 ///< Unix-domain socket path; replaces host/port; Node: path.
  bool no_delay = false;            ///< Disable Nagle once connected; Node: noDelay (false).
  bool keep_alive = false;          ///< Enable TCP keep-alive once connected; Node: keepAlive.
  std::chrono::milliseconds keep_alive_initial_delay{0};  ///< Node: keepAliveInitialDelay.
  std::optional<std::chrono::milliseconds> timeout{};       ///< set_timeout() before connecting.
};

/// Node's dns.ADDRCONFIG, dns.V4MAPPED and dns.ALL: the lookup hints ConnectOptions::hints takes.
inline constexpr int kHintAddrConfig = 32;
inline constexpr int kHintV4Mapped = 8;
inline constexpr int kHintAll = 16;

/// Options of a socket object. Node: `new net.Socket(options)`.
struct SocketOptions {
  bool allow_half_open = false;         ///< Keep writing after the peer ended; Node: false.
  std::size_t high_water_mark = 16384;  ///< For both directions; Node: 16384.
};

/// A connected (or connecting) byte stream over TCP or a Unix-domain socket. Node: `net.Socket`.
/// Made by `create()` + `connect()`, `Socket::create_connection()`, or by a `Server` for each accepted
/// connection. Writes made while connecting are queued and sent once connected. Reading stops
/// while the consumer is paused and its buffer is full (backpressure down to the kernel).
/// The transport behind it is internal, so TLS can slot in without changing users of Socket.
class Socket : public core::Duplex {
 public:
  /// An unconnected socket. Node: `new net.Socket(options)`.
  static std::shared_ptr<Socket> create(core::Loop& loop, SocketOptions options = {});
  /// Creates a socket and connects it; `on_connect` is added as a one-time 'connect' listener.
  /// Node: `net.createConnection(options[, connectListener])`.
  static std::shared_ptr<Socket> create_connection(core::Loop& loop, ConnectOptions options,
                                            std::function<void()> on_connect = {}, SocketOptions socket_options = {});

  ~Socket() override;

  /// The socket's events (stream events plus 'connect', 'ready', 'timeout', 'lookup').
  SocketEvents& events() noexcept { return static_cast<SocketEvents&>(Stream::events()); }

  /// Starts connecting; failures (lookup, refused, unreachable, bind) are emitted as 'error'
  /// followed by 'close'. Throws Error(ERR_SOCKET_BAD_PORT) for a TCP port outside 0..65535.
  /// Node: `socket.connect(options[, listener])`.
  void connect(ConnectOptions options, std::function<void()> on_connect = {});

  /// Emits 'timeout' after `timeout` without reads or writes; 0 disables. `on_timeout` becomes a
  /// one-time 'timeout' listener (not added with 0). Node: `socket.setTimeout(timeout[, callback])`.
  void set_timeout(std::chrono::milliseconds timeout, std::function<void()> on_timeout = {});
  /// The idle timeout in force (0 = none). Node: `socket.timeout`.
  std::chrono::milliseconds timeout() const noexcept { return timeout_; }
  /// Node: `socket.setNoDelay([noDelay])`. Applied once connected when called earlier.
  void set_no_delay(bool no_delay = true);
  /// Node: `socket.setKeepAlive([enable][, initialDelay])`.
  void set_keep_alive(bool enable = false, std::chrono::milliseconds initial_delay = std::chrono::milliseconds(0));
  /// Lets the loop's run() return while this socket is open. Node: `socket.unref()`.
  void unref();
  /// Undoes unref(). Node: `socket.ref()`.
  void ref();
  /// Closes with a TCP RST instead of a FIN. Node: `socket.resetAndDestroy()`.
  void reset_and_destroy();

  /// The OS descriptor, -1 before the connection is up or after destroy: for socket options
  /// libhttp does not wrap (and for tests that read them back). Node: `socket._handle.fd`.
  int native_handle() const noexcept;
  /// httpx's addition (Node has no equivalent): sends `length` bytes of the open file `fd`,
  /// starting at `offset`, with sendfile(2) straight from the page cache, after every byte
  /// already written. Backpressure as for writes: while the kernel's buffer is full it waits for
  /// writability, so a slow peer holds no file data in memory. `done` runs once (never inside
  /// this call) when all bytes went to the kernel, or with the error: the socket's write error,
  /// ERR_SOCKET_CLOSED when it closed meanwhile, EIO when the file ended before `length`.
  /// Legal only while can_send_file(); the caller writes nothing else until `done` ran, and
  /// keeps `fd` open until then.
  void send_file(int fd, std::uint64_t offset, std::uint64_t length, core::Callback done);
  /// httpx's addition: true when the socket is connected over a plain byte stream (TCP or Unix,
  /// not TLS), so send_file() may be used.
  bool can_send_file() const noexcept;
  /// Node: `socket.remoteAddress` ("" when unknown or for Unix sockets). Read from the operating
  /// system on first use (or when the socket closes) and kept, so they stay readable after close.
  const std::string& remote_address() const { return addresses().remote_address; }
  /// Node: `socket.remotePort` (0 when unknown).
  int remote_port() const { return addresses().remote_port; }
  /// Node: `socket.remoteFamily`: "IPv4", "IPv6" or "".
  const std::string& remote_family() const { return addresses().remote_family; }
  /// Node: `socket.localAddress`.
  const std::string& local_address() const { return addresses().local_address; }
  /// Node: `socket.localPort`.
  int local_port() const { return addresses().local_port; }
  /// Node: `socket.localFamily`.
  const std::string& local_family() const { return addresses().local_family; }
  /// Node: `socket.bytesRead`.
  std::uint64_t bytes_read() const noexcept { return bytes_read_; }
  /// Node: `socket.bytesWritten` (bytes handed to write(), including queued ones).
  std::uint64_t bytes_written() const noexcept { return bytes_sent_ + writable_length(); }
  /// Node: `socket.connecting` — connect() was called and 'connect' not yet emitted.
  bool connecting() const noexcept { return connecting_; }
  /// Node: `socket.pending` — not connected yet (or never).
  bool pending() const noexcept { return !connected_; }
  /// Node: `socket.readyState`: "opening", "open", "readOnly", "writeOnly" or "closed".
  std::string ready_state() const;

 protected:
  explicit Socket(core::Loop& loop, SocketOptions options);

  void do_read(std::size_t size) override;
  /// A socket reads on while push() accepts more, and stops when it refuses.
  bool reads_on_its_own() const noexcept override { return true; }
  void do_write(std::string chunk, core::Callback done) override;
  void do_writev(std::vector<std::string> chunks, core::Callback done) override;
  bool has_writev() const noexcept override { return true; }
  void do_final(core::Callback done) override;
  void do_destroy(std::error_code ec, core::Callback done) override;

 private:
  friend class Server;
  /// For the listener: wraps an accepted connection, reading at once unless `paused`.
  static std::shared_ptr<Socket> adopt(core::Loop& loop, std::unique_ptr<detail::Transport> transport,
                                       SocketOptions options, bool paused = false);

  struct Pending;
  struct Write;
  void attach(std::unique_ptr<detail::Transport> transport);
  void on_connected();
  void resolve_and_connect();
  void try_address(std::size_t index);
  void start_reading();
  void on_readable(std::error_code ec);
  void write_buffers(std::vector<std::string> chunks, core::Callback done);
  struct FileSend;
  void continue_send_file(const std::shared_ptr<FileSend>& send);
  void finish_send_file(const std::shared_ptr<FileSend>& send, std::error_code ec);
  void continue_write(const std::shared_ptr<Write>& write);
  void touch();
  static void on_idle(void* self);
  void update_ref();
  void apply_options();
  struct Addresses {
    std::string remote_address, remote_family, local_address, local_family;
    int remote_port = 0;
    int local_port = 0;
  };
  const Addresses& addresses() const;
  void fail_queued(Pending& pending);
  std::shared_ptr<Socket> self_ptr();

  std::weak_ptr<Socket> weak_self_;
  std::unique_ptr<detail::Transport> transport_;
  std::unique_ptr<Pending> pending_;  // connect state and writes queued while connecting
  bool connecting_ = false;
  bool connected_ = false;
  bool reading_ = false;
  bool read_requested_ = false;  // do_read() came while connecting
  bool refed_ = true;
  core::LoopRef loop_ref_;
  std::optional<bool> no_delay_;
  std::optional<std::pair<bool, std::chrono::milliseconds>> keep_alive_;
  std::chrono::milliseconds timeout_{0};
  core::IdleTimeout idle_;  // the set_timeout() deadline, in the loop's shared list for its duration
  // Filled on first use while connected (most server sockets are never asked).
  mutable std::unique_ptr<Addresses> addresses_;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t bytes_sent_ = 0;  // taken by the kernel; bytes_written() adds the queued ones
  bool sending_file_ = false;      // a send_file() is between its first and last sendfile(2)
  core::Callback final_after_file_;  // do_final() that came meanwhile: the FIN waits for the file
};

}  // namespace httpx::net
