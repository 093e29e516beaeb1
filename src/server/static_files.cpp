// The dashboard's static files.
#include "server/server_impl.h"

namespace truce::server {

namespace {
// True when `rel` names a regular file under `root` and no part of the way there (directory or
// file) is a symbolic link: a link in the web root (to /etc/passwd, say) is never followed.
bool real_file_under(const std::filesystem::path& root, const std::string& rel) {
  namespace fs = std::filesystem;
  fs::path p = root;
  fs::file_status st;
  for (const auto& part : fs::path(rel)) {
    p /= part;
    std::error_code ec;
    st = fs::symlink_status(p, ec);
    if (ec || fs::is_symlink(st)) return false;
  }
  return fs::is_regular_file(st);
}
}  // namespace

void ServerImpl::static_file(const Request& req, Response& res) {
  const std::string& path = req.path;
  if (path == "/api" || path.rfind("/api/", 0) == 0)
    return send_error(res, 404, "not_found", "no such endpoint");
  if (opts_.web_dir.empty())
    return send_error(res, 404, "not_found", "no such endpoint (this server has no dashboard)");
  std::string rel = path == "/" ? "index.html" : path.substr(1);
  const bool bad = rel.find("..") != std::string::npos || rel.find('\\') != std::string::npos ||
                   rel.find('\0') != std::string::npos || rel.find("//") != std::string::npos ||
                   rel.front() == '/';
  if (bad) return send_error(res, 404, "not_found", "no such file");
  namespace fs = std::filesystem;
  const fs::path file = fs::path(opts_.web_dir) / rel;
  std::error_code ec;
  if (!real_file_under(opts_.web_dir, rel)) {
    if (rel == "index.html") {
      return send_error(
          res, 404, "not_found",
          "the dashboard is not built: run `make build` (or npm ci && npm run build in web/), or "
          "give truce serve --web DIR");
    }
    return send_error(res, 404, "not_found", "no such file");
  }
  const auto size = fs::file_size(file, ec);
  if (ec || size > (64u << 20)) return send_error(res, 500, "internal", "cannot read " + rel);
  std::ifstream in(file, std::ios::binary);
  std::string body(static_cast<std::size_t>(size), '\0');
  if (!in.read(body.data(), static_cast<std::streamsize>(size)))
    return send_error(res, 500, "internal", "cannot read " + rel);
  // Vite names its assets by content hash: they never change. Everything else is revalidated.
  res.set_header("Cache-Control",
                 rel.rfind("assets/", 0) == 0 ? "public, max-age=31536000, immutable" : "no-cache");
  res.set_header("X-Content-Type-Options", "nosniff");
  if (rel == "index.html") {
    res.set_header(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: "
        "https: http:; connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'");
    res.set_header("Referrer-Policy", "no-referrer");
  }
  res.set_content(std::move(body), content_type_of(file));
}

std::string content_type_of(const std::filesystem::path& p) {
  static const std::map<std::string, std::string> kTypes = {{".html", "text/html; charset=utf-8"},
                                                            {".js", "text/javascript; charset=utf-8"},
                                                            {".mjs", "text/javascript; charset=utf-8"},
                                                            {".css", "text/css; charset=utf-8"},
                                                            {".json", "application/json"},
                                                            {".geojson", "application/geo+json"},
                                                            {".svg", "image/svg+xml"},
                                                            {".png", "image/png"},
                                                            {".ico", "image/x-icon"},
                                                            {".txt", "text/plain; charset=utf-8"},
                                                            {".md", "text/markdown; charset=utf-8"},
                                                            {".woff2", "font/woff2"},
                                                            {".map", "application/json"}};
  const auto it = kTypes.find(p.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

}  // namespace truce::server
