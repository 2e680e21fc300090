// `rectrack serve`'s limits over real sockets on 127.0.0.1: the connection cap, the rate and byte
// budgets per token, account or address (API and web pages alike), and which address a client
// has behind a trusted proxy. The fixture is tests/server_fixture.h; the rest of the transport
// is in server_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/server.h"
#include "tests/server_fixture.h"
#include "tests/test_support.h"

namespace rectrack::server_test {
namespace {

TEST_F(ServerTest, ConnectionsBeyondTheCapAreRefused503) {
  Start({"RECTRACK_MAX_CONNECTIONS=2"});
  Connection a(port_), b(port_);
  ASSERT_EQ(a.Request("GET", "/healthz", "").status, 200);
  ASSERT_EQ(b.Request("GET", "/healthz", "").status, 200);
  Connection c(port_);
  EXPECT_EQ(c.Read().status, 503);
}

TEST_F(ServerTest, RequestsBeyondTheRateAreRefused429WithRetryAfter) {
  Start({"RECTRACK_RATE_PER_MINUTE=5"});
  Connection c(port_);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.Request("GET", "/api/v1/bodies", cps_).status, 200);
  Reply limited = c.Request("GET", "/api/v1/bodies", cps_);
  EXPECT_EQ(limited.status, 429);
  EXPECT_NE(limited.head.find("Retry-After: 60"), std::string::npos) << limited.head;
  // Another client has its own allowance.
  EXPECT_EQ(c.Request("GET", "/api/v1/bodies", inspectorate_).status, 200);
}

// The web workspace's pages count too, per account or (here, not signed in) per address, apart
// from the API's tokens; the stylesheet is not counted.
TEST_F(ServerTest, PagesBeyondTheRateAreRefused429WithRetryAfter) {
  Start({"RECTRACK_RATE_PER_MINUTE=5"});
  Connection c(port_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(c.Request("GET", "/sign-in", "").status, 200);
    ASSERT_EQ(c.Request("GET", "/assets/rectrack.css", "").status, 200);
  }
  Reply limited = c.Request("GET", "/sign-in", "");
  EXPECT_EQ(limited.status, 429);
  EXPECT_NE(limited.head.find("Retry-After: 60"), std::string::npos) << limited.head;
  EXPECT_NE(limited.body.find("Too many requests"), std::string::npos) << limited.body;
  EXPECT_EQ(c.Request("POST", "/sign-in", "", "email=a%40b.example&password=x",
                      "application/x-www-form-urlencoded")
                .status,
            429);
  EXPECT_EQ(c.Request("GET", "/api/v1/bodies", cps_).status, 200);
}

// A page's form is read whole before anything looks at it, signed in or not: held to a page's
// fields, and, without files, to what an event's text can be (under the server's 8 MB).
TEST_F(ServerTest, AFormWithTooManyFieldsOrBytesIsRefused413) {
  Start();
  Connection c(port_);
  const std::string form = "application/x-www-form-urlencoded";
  std::string many;
  for (int i = 0; i < 300; ++i) many += "f" + std::to_string(i) + "=x&";
  Reply fields = c.Request("POST", "/recommendations/da23-r2", "", many, form);
  EXPECT_EQ(fields.status, 413);
  EXPECT_NE(fields.body.find("at most 256 fields"), std::string::npos) << fields.body;
  Reply large =
      c.Request("POST", "/recommendations/da23-r2", "", "note=" + std::string(5 << 20, 'a'), form);
  EXPECT_EQ(large.status, 413);
  EXPECT_NE(large.body.find("without files may send at most"), std::string::npos) << large.body;
  // A field sent twice, or a body that is not URL-encoded, is a page saying so, not bare text.
  for (const std::string& body : {std::string("note=a&note=b&do=update"), std::string("a=%zz")}) {
    Reply unreadable = c.Request("POST", "/recommendations/da23-r2", "", body, form);
    EXPECT_EQ(unreadable.status, 400) << body;
    EXPECT_NE(FieldOf(unreadable, "content-type").find("text/html"), std::string::npos);
    EXPECT_NE(unreadable.body.find("<title>The form could not be read"), std::string::npos)
        << unreadable.body;
  }
  Reply twice = c.Request("POST", "/recommendations/da23-r2", "", "note=a&note=b", form);
  EXPECT_NE(twice.body.find("the field &apos;note&apos; was sent more than once"),
            std::string::npos)
      << twice.body;
  EXPECT_NE(c.Request("POST", "/recommendations/da23-r2", "", "a=%zz", form)
                .body.find("it is not URL-encoded"),
            std::string::npos);
  EXPECT_NE(c.Request("POST", "/recommendations/da23-r2", "", "note=%ff", form)
                .body.find("a field is not valid UTF-8"),
            std::string::npos);
  // Within both, the form is read (and, not signed in, sent to sign in).
  EXPECT_EQ(
      c.Request("POST", "/recommendations/da23-r2", "", "note=a%0D%0Ab&do=update", form).status,
      303);
}

// A request the server cannot read (a head too large, a field given twice, a length that is
// none) is refused as a page on the workspace's paths, with the pages' headers, and as the
// API's problem on the API's.
TEST_F(ServerTest, ARequestThatCannotBeReadIsAPageOnTheWorkspacesPaths) {
  Start();
  const std::string cookie = "Cookie: a=" + std::string(20000, 'a') + "\r\n";
  const std::string twice = "Host: x\r\n";
  const std::string unended = "Content-Length: many\r\n";
  for (const auto& [headers, status] :
       {std::pair{cookie, 431}, std::pair{twice, 400}, std::pair{unended, 400}}) {
    for (const std::string path : {"/recommendations", "/api/v1/bodies"}) {
      Connection c(port_);
      c.Send("GET " + path + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n");
      Reply r = c.Read();
      EXPECT_EQ(r.status, status) << path << headers.substr(0, 40);
      const bool page = path == "/recommendations";
      EXPECT_EQ(FieldOf(r, "content-type").find(page ? "text/html" : "application/problem+json"),
                0u)
          << path << r.head;
      if (page) {
        EXPECT_NE(r.body.find("<title>The request was refused"), std::string::npos) << r.body;
        EXPECT_NE(FieldOf(r, "content-security-policy"), "") << r.head;
      }
    }
  }
}

// A page asked with a method it does not answer says which it does (RFC 9110 15.5.6).
TEST_F(ServerTest, APageAskedWithAnotherMethodIs405SayingWhichAreAllowed) {
  Start();
  Connection c(port_);
  for (const char* method : {"PUT", "DELETE", "OPTIONS"}) {
    for (const char* path : {"/recommendations", "/sign-in", "/set-password", "/sign-in/code"}) {
      Reply r = c.Request(method, path, "");
      EXPECT_EQ(r.status, 405) << method << " " << path;
      EXPECT_NE(r.head.find("Allow: GET, HEAD, POST"), std::string::npos) << r.head;
    }
  }
}

// Every path that is not the API's is the workspace's: an address people mistype is sent to sign
// in, then gets the page "Page not found" (the browser test), never the API's JSON; the API's
// paths are still its own.
TEST_F(ServerTest, AnUnknownPathIsThePagesNotTheApis) {
  Start();
  Connection c(port_);
  for (const char* path : {"/elsewhere", "//recommendations", "/recommendations/da23-r2/more"}) {
    Reply r = c.Request("GET", path, "");
    EXPECT_EQ(r.status, 303) << path;
    EXPECT_EQ(FieldOf(r, "location").rfind("/sign-in?next=", 0), 0u) << path << r.head;
  }
  // An address that cannot be read is a page saying so, before anything else.
  Reply twice = c.Request("GET", "/recommendations?body=CPS&body=SFO", "");
  EXPECT_EQ(twice.status, 400);
  EXPECT_NE(twice.body.find("<h1 class=\"govuk-heading-l\">The address is not right"),
            std::string::npos)
      << twice.body;
  Reply api = c.Request("GET", "/api/v1/nothing", cps_);
  EXPECT_EQ(api.status, 404);
  EXPECT_NE(FieldOf(api, "content-type").find("application/problem+json"), std::string::npos);
  EXPECT_EQ(c.Request("GET", "/api", "").status, 404);
  EXPECT_EQ(c.Request("GET", "/healthz", "").status, 200);
  EXPECT_EQ(c.Request("GET", "/openapi.yaml", "").status, 200);
}

TEST(ClientAddressTest, OnlyATrustedProxysForwardedForIsBelieved) {
  const std::vector<std::string> ours = {"127.0.0.1", "::1", "10.0.0.2"};
  EXPECT_EQ(http::ClientAddress("127.0.0.1", "203.0.113.7", ours), "203.0.113.7");
  EXPECT_EQ(http::ClientAddress("::1", " 2001:db8::7 ", ours), "2001:db8::7");
  // The nearest address that is not ours: what the client wrote before it is not believed.
  EXPECT_EQ(http::ClientAddress("127.0.0.1", "1.1.1.1, 203.0.113.7, 10.0.0.2", ours),
            "203.0.113.7");
  EXPECT_EQ(http::ClientAddress("198.51.100.9", "203.0.113.7", ours), "198.51.100.9");
  // A dual-stack socket's IPv4 peer is that IPv4 address, and so is a client's.
  EXPECT_EQ(http::ClientAddress("::ffff:127.0.0.1", "::ffff:203.0.113.7", ours), "203.0.113.7");
  EXPECT_EQ(http::ClientAddress("127.0.0.1", "203.0.113.7", {}), "127.0.0.1");
  EXPECT_EQ(http::ClientAddress("127.0.0.1", "", ours), "127.0.0.1");
  EXPECT_EQ(http::ClientAddress("127.0.0.1", "203.0.113.7, not-an-address", ours), "127.0.0.1");
  EXPECT_EQ(http::ClientAddress("127.0.0.1", "10.0.0.2, 127.0.0.1", ours), "127.0.0.1");
  http::ServerOptions options;
  EXPECT_TRUE(http::ParseTrustedProxies("127.0.0.1, ::1", &options).ok());
  EXPECT_EQ(options.trusted_proxies, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(http::ParseTrustedProxies("127.0.0.1, proxy.example", &options).message(),
            "trusted_proxies: 'proxy.example' is not an IP address");
}

// Behind a trusted proxy each client has its own allowance, by X-Forwarded-For; from anyone
// else the header changes nothing.
TEST_F(ServerTest, ClientsBehindATrustedProxyAreLimitedEachOnItsOwn) {
  auto bodies = [&](Connection& c, const std::string& forwarded_for) {
    c.Send("GET /api/v1/bodies HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: " + forwarded_for +
           "\r\n\r\n");
    return c.Read().status;
  };
  Start({"RECTRACK_RATE_PER_MINUTE=3", "RECTRACK_TRUSTED_PROXIES=127.0.0.1"});
  Connection c(port_);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(bodies(c, "203.0.113.1"), 401);
  EXPECT_EQ(bodies(c, "203.0.113.1"), 429);
  EXPECT_EQ(bodies(c, "198.51.100.1, 203.0.113.1"), 429);  // what it says before is its own
  EXPECT_EQ(bodies(c, "203.0.113.2"), 401);
  Start({"RECTRACK_RATE_PER_MINUTE=3"});
  Connection d(port_);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(bodies(d, "203.0.113." + std::to_string(i)), 401);
  EXPECT_EQ(bodies(d, "203.0.113.9"), 429);
}

// The budget counts bytes too: a token fetching large answers is refused once it has been sent
// rate_bytes_per_minute, however few requests that took; another token is not.
TEST_F(ServerTest, AnswersBeyondTheByteBudgetAreRefused429) {
  Start({"RECTRACK_RATE_PER_MINUTE=0", "RECTRACK_RATE_BYTES_PER_MINUTE=40000"});
  Connection c(port_);
  Reply first = c.Request("GET", "/api/v1/recommendations", cps_);
  ASSERT_EQ(first.status, 200);
  ASSERT_GT(first.body.size(), 1000u);
  const size_t allowed = 40000 / first.body.size() + 1;  // the one that crosses the line is sent
  size_t served = 1;
  Reply r;
  while (served < allowed + 5 &&
         (r = c.Request("GET", "/api/v1/recommendations", cps_)).status == 200) {
    ++served;
  }
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(served, allowed);
  EXPECT_NE(r.body.find("bytes"), std::string::npos) << r.body;
  EXPECT_EQ(c.Request("GET", "/api/v1/recommendations", inspectorate_).status, 200);
}

TEST_F(ServerTest, MadeUpTokensDoNotEscapeTheRateLimit) {
  Start({"RECTRACK_RATE_PER_MINUTE=5"});
  Connection c(port_);
  int limited = 0;
  for (int i = 0; i < 8; ++i) {
    if (c.Request("GET", "/api/v1/bodies", "rt_guess" + std::to_string(i)).status == 429) {
      ++limited;
    }
  }
  EXPECT_EQ(limited, 3);
}

}  // namespace
}  // namespace rectrack::server_test
