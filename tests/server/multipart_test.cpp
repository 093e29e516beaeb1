// The multipart/form-data parser on the bodies ODK Collect sends, and on the malformed ones it must refuse.
#include "server/multipart.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace truce::server {
namespace {

using namespace std::string_literals;

// What a form part looks like on the wire.
struct Wire {
  std::string headers;  // header lines, each ending in CRLF
  std::string content;
};

std::string body_of(const std::string& boundary, const std::vector<Wire>& parts) {
  std::string b;
  for (const Wire& p : parts) b += "--" + boundary + "\r\n" + p.headers + "\r\n" + p.content + "\r\n";
  return b + "--" + boundary + "--\r\n";
}

Wire field(const std::string& name, const std::string& value) {
  return {"Content-Disposition: form-data; name=\"" + name + "\"\r\n", value};
}

std::string error_of(std::string_view content_type, std::string_view body) {
  auto r = parse_multipart(content_type, body);
  EXPECT_FALSE(r.ok()) << "expected an error for body " << testing::PrintToString(std::string(body));
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  return r.status().message();
}

const std::string kB = "BOUNDARY";
const std::string kCt = "multipart/form-data; boundary=BOUNDARY";

TEST(MultipartTest, OdkCollectSubmission) {
  // OkHttp (ODK Collect) sends a UUID boundary, the xml_submission_file part first, then media.
  const std::string boundary = "3f0d8a1e-5b7c-4c1a-9e2f-6d4b8a2c1e07";
  const std::string xml =
      "<?xml version='1.0' ?><data "
      "id=\"truce_observation\"><meta><instanceID>uuid:1</instanceID></meta></data>";
  // JPEG-ish bytes with NUL, CR/LF, "--", a CRLF "--" and a CRLF followed by most of the boundary.
  const std::string jpg = "\xff\xd8\xff\xe0\0\x10JFIF\0\r\n--\r\n\r\n-- \r\n--"s + boundary.substr(0, 20) +
                          "\n--" + boundary + "\r--" + boundary + "x\xff\xd9"s;
  const std::string body = body_of(
      boundary,
      {{"Content-Disposition: form-data; name=\"xml_submission_file\"; filename=\"submission.xml\"\r\n"
        "Content-Type: text/xml\r\n",
        xml},
       {"Content-Disposition: form-data; name=\"1700000000000.jpg\"; filename=\"1700000000000.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n",
        jpg}});
  auto r = parse_multipart("multipart/form-data; boundary=" + boundary, body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "xml_submission_file");
  EXPECT_EQ((*r)[0].filename, "submission.xml");
  EXPECT_EQ((*r)[0].content_type, "text/xml");
  EXPECT_EQ((*r)[0].content, xml);
  EXPECT_EQ((*r)[1].name, "1700000000000.jpg");
  EXPECT_EQ((*r)[1].filename, "1700000000000.jpg");
  EXPECT_EQ((*r)[1].content_type, "image/jpeg");
  EXPECT_EQ((*r)[1].content, jpg);
}

TEST(MultipartTest, QuotedBoundaryAndCaseInsensitiveMediaType) {
  const std::string boundary = "simple boundary:(1)";
  const std::string ct = "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"" + boundary + "\"";
  EXPECT_EQ(multipart_boundary(ct), boundary);
  auto r = parse_multipart(ct, body_of(boundary, {field("a", "1"), field("b", "two")}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].name, "b");
  EXPECT_EQ((*r)[1].content, "two");
  EXPECT_EQ(multipart_boundary("multipart/form-data;boundary=abc"), "abc");
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"a\\bc\""), "abc");  // a quoted-pair
}

TEST(MultipartTest, BoundaryLength) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'x')),
            std::string(70, 'x'));
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'x')), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"\""), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary="), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"ends in space \""), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"a\\\"b\""), std::nullopt);  // '"' is no bchar
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=a; boundary=b"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=\"abc"), std::nullopt);
  // Control characters are refused in any parameter, escaped or not.
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=\"\\\x01\"; boundary=abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=\"\x01\"; boundary=abc"), std::nullopt);
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=\"\\\""), std::nullopt);
  const std::string b70(70, '7');
  auto r = parse_multipart("multipart/form-data; boundary=" + b70, body_of(b70, {field("x", "y")}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].content, "y");
  EXPECT_NE(
      error_of("multipart/form-data; boundary=" + std::string(71, '7'), body_of(std::string(71, '7'), {}))
          .find("1 to 70"),
      std::string::npos);
}

TEST(MultipartTest, BoundaryAsPrefixInsideContentIsContent) {
  // "--BOUNDARY" without a CRLF before it, or "CRLF--BOUNDAR" (not the whole boundary), is content;
  // so is "--BOUNDARY" right after the CRLF CRLF that ends the headers (content starts there).
  const std::string content = "x--BOUNDARYx--BOUNDARY--\r\n-BOUNDARY\r\n--BOUNDAR\r\n";
  auto r = parse_multipart(kCt, body_of(kB, {field("f", content), field("g", "--BOUNDARY")}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].content, content);
  EXPECT_EQ((*r)[1].content, "--BOUNDARY");
}

TEST(MultipartTest, DelimiterWithTrailingCharactersIsRefused) {
  // RFC 2046: the delimiter never appears inside a part; "CRLF--BOUNDARYx" is not silently skipped.
  const std::string msg = error_of(kCt, body_of(kB, {field("f", "a\r\n--BOUNDARYx")}));
  EXPECT_NE(msg.find("expected CRLF or \"--\" after the delimiter"), std::string::npos) << msg;
  EXPECT_NE(msg.find("part 2"), std::string::npos) << msg;
  // Spaces and tabs before the CRLF are transport padding, allowed.
  auto r = parse_multipart(kCt, "--BOUNDARY \t\r\n" + field("f", "v").headers + "\r\nv\r\n--BOUNDARY--");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].content, "v");
}

TEST(MultipartTest, PreambleAndEpilogueIgnored) {
  const std::string body =
      "This is the preamble.\r\n--BOUNDARY\r\nContent-Disposition: form-data; name=a\r\n\r\n"
      "1\r\n--BOUNDARY--\r\nThis is the epilogue, even --BOUNDARY\r\n";
  auto r = parse_multipart(kCt, body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "a");
  EXPECT_EQ((*r)[0].content, "1");
  // No CRLF after the closing delimiter is fine too.
  EXPECT_TRUE(
      parse_multipart(kCt, "--BOUNDARY\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--BOUNDARY--")
          .ok());
}

TEST(MultipartTest, DispositionParametersAndDefaultContentType) {
  auto r = parse_multipart(
      kCt, body_of(kB, {{"content-disposition:FORM-DATA;name=\"a\\\"b\\\\c\";filename=\"x y.txt\"\r\n", "1"},
                        {"X-Other: ignored\r\nContent-Disposition: form-data; name=tok_en.1\r\n", ""},
                        {"Content-Disposition: form-data; name=\"caf\xc3\xa9\"\r\n"
                         "CONTENT-TYPE: application/json; charset=utf-8\r\n",
                         "{}"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].name, "a\"b\\c");
  EXPECT_EQ((*r)[0].filename, "x y.txt");
  EXPECT_EQ((*r)[0].content_type, "text/plain");
  EXPECT_EQ((*r)[1].name, "tok_en.1");
  EXPECT_EQ((*r)[1].filename, "");
  EXPECT_EQ((*r)[1].content, "");
  EXPECT_EQ((*r)[2].name, "caf\xc3\xa9");
  EXPECT_EQ((*r)[2].content_type, "application/json; charset=utf-8");
}

TEST(MultipartTest, MissingClosingDelimiter) {
  const std::string full = body_of(kB, {field("a", "1"), field("b", "2")});
  const std::string no_close = full.substr(0, full.rfind("--BOUNDARY--"));  // ends "2\r\n"
  std::string msg = error_of(kCt, no_close);
  EXPECT_NE(msg.find("part 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("closing \"--BOUNDARY--\""), std::string::npos) << msg;
  // "--BOUNDARY" then the end of the body, and a body cut inside the last delimiter.
  msg = error_of(kCt, no_close + "--BOUNDARY");
  EXPECT_NE(msg.find("got the end of the body"), std::string::npos) << msg;
  EXPECT_FALSE(parse_multipart(kCt, no_close + "--BOUNDARY-").ok());
  EXPECT_FALSE(parse_multipart(kCt, no_close + "--BOUND").ok());
  // Every strict prefix of a valid body is refused.
  for (std::size_t n = 0; n + 2 < full.size(); ++n) {
    EXPECT_FALSE(parse_multipart(kCt, full.substr(0, n)).ok()) << n;
  }
}

TEST(MultipartTest, MissingDispositionOrName) {
  const std::string body =
      body_of(kB, {field("a", "1"), {"Content-Disposition: form-data; filename=\"x.jpg\"\r\n", "2"}});
  const std::string msg = error_of(kCt, body);
  EXPECT_NE(msg.find("expected a name parameter"), std::string::npos) << msg;
  const std::size_t header_at = body.find("Content-Disposition: form-data; filename");
  EXPECT_NE(msg.find("part 2 at byte " + std::to_string(header_at + 21)), std::string::npos) << msg;

  EXPECT_NE(error_of(kCt, body_of(kB, {{"Content-Type: text/xml\r\n", "x"}}))
                .find("expected a Content-Disposition"),
            std::string::npos);
  EXPECT_NE(
      error_of(kCt, body_of(kB, {{"Content-Disposition: attachment; name=a\r\n", "x"}})).find("form-data"),
      std::string::npos);
  EXPECT_NE(
      error_of(kCt, body_of(kB, {{"Content-Disposition: form-data; name=\"\"\r\n", "x"}})).find("non-empty"),
      std::string::npos);
  EXPECT_FALSE(
      parse_multipart(kCt, body_of(kB, {{"Content-Disposition: form-data; name=a; name=b\r\n", ""}})).ok());
  EXPECT_FALSE(
      parse_multipart(kCt, body_of(kB, {{"Content-Disposition: form-data; name=\"a\r\n", ""}})).ok());
  EXPECT_FALSE(parse_multipart(kCt, body_of(kB, {{"Content-Disposition: form-data; name=a;\r\n", ""}})).ok());
  EXPECT_FALSE(
      parse_multipart(kCt, body_of(kB, {{"Content-Disposition: form-data; name=a b\r\n", ""}})).ok());
  EXPECT_FALSE(parse_multipart(kCt, body_of(kB, {field("a", "1"),
                                                 field("a", "2"),
                                                 {"Content-Disposition: form-data; name=a\r\n"
                                                  "Content-Disposition: form-data; name=b\r\n",
                                                  ""}}))
                   .ok());
  EXPECT_FALSE(parse_multipart(kCt, body_of(kB, {{"Content-Disposition: form-data; name=a\r\n"
                                                  "Content-Transfer-Encoding: base64\r\n",
                                                  "MQ=="}}))
                   .ok());
  EXPECT_FALSE(
      parse_multipart(kCt,
                      body_of(kB, {{"Content-Disposition: form-data; name=a\r\nContent-Type: xml\r\n", ""}}))
          .ok());
  // A part with no headers at all: the blank line comes right after the delimiter line.
  const std::string no_headers = error_of(kCt, "--BOUNDARY\r\n\r\nx\r\n--BOUNDARY--");
  EXPECT_NE(no_headers.find("part 1 at byte 12: expected a Content-Disposition header"), std::string::npos)
      << no_headers;
  // No part at all is not a form.
  EXPECT_NE(error_of(kCt, "--BOUNDARY--\r\n").find("at least one part"), std::string::npos);
}

TEST(MultipartTest, TooManyParts) {
  std::vector<Wire> parts;
  for (int i = 0; i < 256; ++i) parts.push_back(field("f" + std::to_string(i), std::to_string(i)));
  auto r = parse_multipart(kCt, body_of(kB, parts));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 256u);
  EXPECT_EQ(r->back().content, "255");
  parts.push_back(field("one_more", "x"));
  const std::string msg = error_of(kCt, body_of(kB, parts));
  EXPECT_NE(msg.find("part 257"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at most 256 parts"), std::string::npos) << msg;
}

TEST(MultipartTest, WrongMediaType) {
  const std::string body = body_of(kB, {field("a", "1")});
  for (const char* ct :
       {"multipart/mixed; boundary=BOUNDARY", "text/plain", "", "multipart/form-data-x; boundary=BOUNDARY",
        "application/x-www-form-urlencoded", "multipart/form-data boundary=BOUNDARY"}) {
    EXPECT_FALSE(multipart_boundary(ct).has_value()) << ct;
    EXPECT_NE(error_of(ct, body).find("Content-Type"), std::string::npos) << ct;
  }
  EXPECT_NE(error_of("multipart/mixed; boundary=BOUNDARY", body).find("expected multipart/form-data"),
            std::string::npos);
}

TEST(MultipartTest, EmptyBody) {
  EXPECT_NE(error_of(kCt, "").find("empty"), std::string::npos);
  EXPECT_NE(error_of(kCt, "just a preamble\r\n").find("expected a first delimiter"), std::string::npos);
}

TEST(MultipartTest, HeaderBlockLimits) {
  const std::string cd = "Content-Disposition: form-data; name=a\r\n";
  // A header block of exactly 8192 bytes (without the closing CRLF CRLF) is accepted...
  const std::string pad_line = "X-Pad: " + std::string(8192 - cd.size() - 7, 'p');
  ASSERT_EQ(cd.size() + pad_line.size(), 8192u);
  auto r = parse_multipart(kCt, body_of(kB, {{cd + pad_line + "\r\n", "ok"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].content, "ok");
  // ...one byte more is not.
  std::string msg = error_of(kCt, body_of(kB, {{cd + pad_line + "p\r\n", "ok"}}));
  EXPECT_NE(msg.find("at most 8192 bytes of headers"), std::string::npos) << msg;
  EXPECT_NE(msg.find("part 1 at byte 12"), std::string::npos) << msg;
  msg = error_of(kCt, body_of(kB, {field("a", "1"), {cd + "X-Big: " + std::string(9000, 'b') + "\r\n", ""}}));
  EXPECT_NE(msg.find("part 2"), std::string::npos) << msg;

  // 16 header lines are accepted, 17 are not.
  std::string lines = cd;
  for (int i = 0; i < 15; ++i) lines += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_TRUE(parse_multipart(kCt, body_of(kB, {{lines, ""}})).ok());
  msg = error_of(kCt, body_of(kB, {{lines + "X-Last: v\r\n", ""}}));
  EXPECT_NE(msg.find("at most 16 header lines"), std::string::npos) << msg;

  EXPECT_FALSE(parse_multipart(kCt, body_of(kB, {{cd + " folded\r\n", ""}})).ok());
  EXPECT_FALSE(parse_multipart(kCt, body_of(kB, {{cd + "No colon\r\n", ""}})).ok());
  EXPECT_FALSE(parse_multipart(kCt, body_of(kB, {{cd + "X-Nul: a\0b\r\n"s, ""}})).ok());
  EXPECT_FALSE(parse_multipart(kCt, body_of(kB, {{cd + "X-Cr: a\rb\r\n", ""}})).ok());
}

TEST(MultipartTest, LfOnlyLineEndingsAreRefused) {
  std::string body = body_of(kB, {field("a", "1"), field("b", "2")});
  std::string lf;
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\r' && i + 1 < body.size() && body[i + 1] == '\n') continue;
    lf += body[i];
  }
  std::string msg = error_of(kCt, lf);
  EXPECT_NE(msg.find("expected CRLF"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bare LF"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at byte 10"), std::string::npos) << msg;  // just after the first "--BOUNDARY"
  // After a preamble, the first delimiter is looked for after CRLF: the message says it was after a bare LF.
  msg = error_of(kCt, "preamble\n" + lf);
  EXPECT_NE(msg.find("bare LF"), std::string::npos) << msg;
  // CRLF on the delimiter line but LF inside the headers.
  msg = error_of(kCt, "--BOUNDARY\r\nContent-Disposition: form-data; name=a\n\n1\r\n--BOUNDARY--");
  EXPECT_NE(msg.find("expected CRLF line endings"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at byte 50"), std::string::npos) << msg;
}

}  // namespace
}  // namespace truce::server
