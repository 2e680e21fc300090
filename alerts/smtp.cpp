#include "alerts/smtp.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>

namespace rectrack::alerts::internal {
namespace {

// What one transfer shares with libcurl's callbacks.
struct Transfer {
  const std::string* data = nullptr;
  size_t sent = 0;
  const std::atomic<bool>* cancelled = nullptr;
  std::string reply;    // the relay's last complete reply, its lines joined
  std::string pending;  // the lines of a multi-line reply read so far
};

size_t ReadMessage(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = std::min(size * count, t->data->size() - t->sent);
  std::memcpy(buffer, t->data->data() + t->sent, n);
  t->sent += n;
  return n;
}

// Called at least once a second while a transfer runs: a non-zero answer aborts it.
int Progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->cancelled->load() ? 1 : 0;
}

// Keeps the relay's replies (what libcurl logs as incoming headers), never what rectrack sends:
// that holds the AUTH exchange. Control characters become spaces (the text reaches logs and
// terminals); each reply is capped.
int Debug(CURL*, curl_infotype type, char* text, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto* t = static_cast<Transfer*>(user);
  std::string line(text, std::min<size_t>(size, 512));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (t->pending.size() < 1024) t->pending += (t->pending.empty() ? "" : " ") + line;
  if (line.size() < 4 || line[3] != '-') {  // "250 ok" ends a reply, "250-..." goes on
    t->reply = std::move(t->pending);
    t->pending.clear();
  }
  return 0;
}

// The name rectrack gives itself in EHLO: the sender's domain, or "localhost".
std::string EhloName(const std::string& from) {
  const size_t at = from.rfind('@');
  std::string domain = at == std::string::npos ? "" : from.substr(at + 1);
  const bool ok = !domain.empty() && std::all_of(domain.begin(), domain.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
  });
  return ok ? domain : "localhost";
}

// What failed, in the words of someone configuring a relay.
std::string Explain(CURLcode code, const char* detail, std::chrono::milliseconds timeout) {
  const std::string said = *detail ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_USE_SSL_FAILED:
      return "SMTP: the relay does not offer STARTTLS, which is required; nothing was sent";
    case CURLE_PEER_FAILED_VERIFICATION:
      return "SMTP: the relay's certificate does not verify (" + said + "); nothing was sent";
    case CURLE_SSL_CACERT_BADFILE:
      return "SMTP: the CA file cannot be read (" + said + ")";
    case CURLE_SSL_CONNECT_ERROR:
      return "SMTP: TLS with the relay failed (" + said + "); nothing was sent";
    case CURLE_LOGIN_DENIED:
      return "SMTP: the relay refused the user name or password";
    case CURLE_OPERATION_TIMEDOUT:
      return "SMTP: timed out after " + std::to_string(timeout.count()) + " ms";
    case CURLE_ABORTED_BY_CALLBACK:
      return "SMTP: cancelled (shutting down)";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return "SMTP: cannot connect to the relay (" + said + ")";
    default:
      return "SMTP: " + said;
  }
}

}  // namespace

AttemptResult SendMail(const EmailMessage& message, const std::string& data,
                       std::chrono::milliseconds timeout, const std::atomic<bool>& cancelled) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  AttemptResult result;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> recipients(
      curl_slist_append(nullptr, ("<" + message.to + ">").c_str()), curl_slist_free_all);
  if (!curl || !recipients) {
    result.error = "SMTP: libcurl could not start a transfer";
    return result;
  }
  CURL* c = curl.get();
  Transfer transfer;
  transfer.data = &data;
  transfer.cancelled = &cancelled;
  char detail[CURL_ERROR_SIZE] = "";
  std::string url = message.relay.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/" + EhloName(message.from);  // libcurl takes the EHLO name from the path
  const std::string from = "<" + message.from + ">";

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  // TLS always, except for a relay on this machine that config names plain (CheckSmtpRelay):
  // STARTTLS is required on smtp://, so a relay that does not offer it gets nothing in clear.
  curl_easy_setopt(c, CURLOPT_USE_SSL, message.relay.plain ? CURLUSESSL_NONE : CURLUSESSL_ALL);
  curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!message.relay.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, message.relay.ca_file.c_str());
  }
  if (!message.relay.user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, message.relay.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, message.relay.password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(c, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(c, CURLOPT_READFUNCTION, ReadMessage);
  curl_easy_setopt(c, CURLOPT_READDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, Progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);  // feeds Debug, which keeps only the replies
  curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, Debug);
  curl_easy_setopt(c, CURLOPT_DEBUGDATA, &transfer);

  const CURLcode code = curl_easy_perform(c);
  long reply_code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply_code);
  result.status = static_cast<int>(reply_code);
  result.reply = transfer.reply;
  if (code == CURLE_OK) {
    result.delivered = true;
    return result;
  }
  result.error = Explain(code, detail, timeout);
  if (!transfer.reply.empty() && code != CURLE_ABORTED_BY_CALLBACK) {
    result.error += "; the relay's last reply: " + transfer.reply;
  }
  return result;
}

}  // namespace rectrack::alerts::internal
