// The engine comparison of bench/serve/engines.sh: GET /healthz ("ok") served by libmicrohttpd
// with epoll, as an event-driven alternative to truce's Boost.Beast engine would serve it. Nothing
// behind it (no store, no auth, no access log): an upper bound for that engine on this machine.
//   mhd_healthz PORT THREADS
#include <microhttpd.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

MHD_Result answer(void*, MHD_Connection* c, const char* url, const char* method, const char*, const char*,
                  size_t*, void**) {
  static const char kOk[] = "ok\n";
  const bool ok = std::strcmp(method, "GET") == 0 && std::strcmp(url, "/healthz") == 0;
  MHD_Response* r =
      ok ? MHD_create_response_from_buffer(sizeof kOk - 1, const_cast<char*>(kOk), MHD_RESPMEM_PERSISTENT)
         : MHD_create_response_from_buffer(0, nullptr, MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(r, "Content-Type", "text/plain");
  const MHD_Result q = MHD_queue_response(c, ok ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND, r);
  MHD_destroy_response(r);
  return q;
}

volatile std::sig_atomic_t stop = 0;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: mhd_healthz PORT THREADS\n");
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  const auto threads = static_cast<unsigned>(std::atoi(argv[2]));
  MHD_Daemon* d =
      MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, port, nullptr, nullptr, &answer,
                       nullptr, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT, 60000u,
                       MHD_OPTION_PER_IP_CONNECTION_LIMIT, 0u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                       MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u, MHD_OPTION_END);
  if (!d) {
    std::fprintf(stderr, "mhd_healthz: cannot listen on port %u\n", port);
    return 1;
  }
  std::printf("listening on http://127.0.0.1:%u\n", port);
  std::fflush(stdout);
  std::signal(SIGTERM, [](int) { stop = 1; });
  std::signal(SIGINT, [](int) { stop = 1; });
  while (!stop) pause();
  MHD_stop_daemon(d);
  return 0;
}
