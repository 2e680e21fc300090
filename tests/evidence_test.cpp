// Evidence files (engine/evidence.h): real files of every kind rectrack keeps (tests/data/evidence,
// made by WeasyPrint, pandoc, rectrack's own XLSX writer and Pillow) are recognised by their
// content; empty, truncated, misnamed, disallowed and oversized ones are refused, naming the file.
// And the multipart/form-data reader (http/multipart.h) that brings them in over HTTP.
#include "engine/evidence.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "http/multipart.h"
#include "storage/crypto.h"

namespace rectrack {
namespace {

std::string Sample(const std::string& name) {
  std::ifstream in(std::string(RECTRACK_TEST_DATA_DIR) + "/evidence/" + name, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  EXPECT_FALSE(bytes.str().empty()) << name;
  return bytes.str();
}

TEST(EvidenceTest, EveryKindIsKnownByItsContent) {
  const std::pair<const char*, const char*> kinds[] = {
      {"policy.pdf", "application/pdf"},
      {"policy.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"policy.odt", "application/vnd.oasis.opendocument.text"},
      {"dip-sample.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"dip-sample.csv", "text/csv"},
      {"photo.png", "image/png"},
      {"photo.jpg", "image/jpeg"},
      {"training.txt", "text/plain"},
  };
  for (const auto& [name, type] : kinds) {
    auto found = EvidenceMediaType(name, Sample(name));
    ASSERT_TRUE(found.ok()) << name << ": " << found.status().message();
    EXPECT_EQ(*found, type) << name;
  }
}

TEST(EvidenceTest, AFileCutShortIsRefusedAsTruncated) {
  for (const char* name :
       {"policy.pdf", "policy.docx", "policy.odt", "dip-sample.xlsx", "photo.png", "photo.jpg"}) {
    const std::string whole = Sample(name);
    auto cut = EvidenceMediaType(name, std::string_view(whole).substr(0, whole.size() / 2));
    ASSERT_FALSE(cut.ok()) << name;
    EXPECT_NE(cut.status().message().find("(truncated)"), std::string::npos)
        << cut.status().message();
    EXPECT_EQ(cut.status().message().rfind(std::string("the file '") + name + "'", 0), 0u)
        << "the message names the file";
  }
}

TEST(EvidenceTest, EmptyUnknownAndMisnamedFilesAreRefused) {
  EXPECT_EQ(EvidenceMediaType("empty.pdf", "").status().message(), "the file 'empty.pdf' is empty");
  auto binary = EvidenceMediaType("tool.exe", std::string("MZ\x90\x00\x03\x00", 6));
  ASSERT_FALSE(binary.ok());
  EXPECT_NE(
      binary.status().message().find("the file 'tool.exe' is not a kind of file rectrack keeps"),
      std::string::npos)
      << binary.status().message();
  // HTML is text, but not text rectrack serves: it has control of nothing, yet a browser would
  // render it. It is plain text only if named so; by its .html name it is refused.
  auto html = EvidenceMediaType("page.html", "<script>alert(1)</script>");
  ASSERT_FALSE(html.ok());
  EXPECT_NE(html.status().message().find("its name must end in .txt"), std::string::npos)
      << html.status().message();
  auto misnamed = EvidenceMediaType("policy.pdf", Sample("photo.png"));
  ASSERT_FALSE(misnamed.ok());
  EXPECT_EQ(
      misnamed.status().message(),
      "the file 'policy.pdf' is a PNG image, as its content shows: its name must end in .png");
  // A ZIP that is none of the office formats is not evidence either.
  std::string zip = Sample("policy.docx");
  for (const char* part : {"word/document.xml", "[Content_Types].xml"}) {
    for (size_t at = zip.find(part); at != std::string::npos; at = zip.find(part)) {
      zip[at] = 'Q';
    }
  }
  EXPECT_FALSE(EvidenceMediaType("policy.docx", zip).ok());
  // A ZIP shorter than a local header, yet with an end record: refused, not read past its end.
  EXPECT_FALSE(EvidenceMediaType("z.odt", std::string("PK\x03\x04PK\x05\x06", 8)).ok());
  EXPECT_FALSE(EvidenceMediaType("x.pdf", "%PDF-").ok());
  EXPECT_FALSE(EvidenceMediaType("x.png", "\x89PNG\r\n\x1a\n").ok());
}

TEST(EvidenceTest, LimitsAndTheAllowListAreHeld) {
  EvidenceLimits limits;
  limits.file = 1000;
  limits.event = 1500;
  auto big = DescribeEvidence({{"policy.pdf", Sample("policy.pdf")}}, limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kTooLarge);
  EXPECT_NE(big.status().message().find("the file 'policy.pdf' is "), std::string::npos);
  auto together = DescribeEvidence({{"photo.jpg", Sample("photo.jpg")},
                                    {"photo2.jpg", Sample("photo.jpg")},
                                    {"photo3.jpg", Sample("photo.jpg")}},
                                   limits);
  ASSERT_FALSE(together.ok());
  EXPECT_EQ(together.status().code(), Code::kTooLarge);

  EvidenceLimits pdf_only;
  pdf_only.media_types = {"application/pdf"};
  auto refused = DescribeEvidence({{"photo.png", Sample("photo.png")}}, pdf_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "the file 'photo.png' is a PNG image, which this server does not take as evidence "
            "(application/pdf)");

  EvidenceLimits few;
  few.files = 1;
  EXPECT_FALSE(DescribeEvidence({{"a.txt", "a"}, {"b.txt", "b"}}, few).ok());
}

TEST(EvidenceTest, DescribedByHashNameTypeAndSizeOnceEach) {
  const std::string pdf = Sample("policy.pdf");
  auto files = DescribeEvidence(
      {{"C:\\Users\\lead\\policy.pdf", pdf}, {"policy.pdf", pdf}, {"copy.pdf", pdf}}, {});
  ASSERT_TRUE(files.ok()) << files.status().message();
  ASSERT_EQ(files->size(), 2u) << "the same file under the same name is named once";
  EXPECT_EQ((*files)[0].name, "policy.pdf") << "directories are dropped";
  EXPECT_EQ((*files)[0].sha256, storage::Sha256Hex(pdf));
  EXPECT_EQ((*files)[0].size, static_cast<int64_t>(pdf.size()));
  EXPECT_EQ((*files)[1].name, "copy.pdf");
  EXPECT_EQ((*files)[1].sha256, (*files)[0].sha256);
  EXPECT_FALSE(DescribeEvidence({{"bad\x1b]0;name.txt", "x"}}, {}).ok());
  EXPECT_FALSE(DescribeEvidence({{"two\nlines.txt", "x"}}, {}).ok());
  EXPECT_FALSE(DescribeEvidence({{"tab\t.txt", "x"}}, {}).ok());
  EXPECT_FALSE(DescribeEvidence({{"policy\xE2\x80\xAEtxt.exe.txt", "x"}}, {}).ok())
      << "a right-to-left override disguises the extension";
  EXPECT_TRUE(DescribeEvidence({{"r\xC3\xA9sum\xC3\xA9 \xE2\x80\x94 final.txt", "x"}}, {}).ok())
      << "other UTF-8 is a name like any";
  EXPECT_FALSE(DescribeEvidence({{"dir/", "x"}}, {}).ok()) << "a name that is only directories";
}

TEST(MultipartTest, ReadsAnEventAndItsFiles) {
  const std::string body =
      "preamble\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"event\"\r\n"
      "Content-Type: application/json\r\n\r\n"
      "{\"do\":\"close\"}\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\"; c.csv\"\r\n\r\n"
      "x,y\r\n1,2\r\n"
      "--XyZ--\r\n";
  auto parts = http::ParseMultipartForm("Multipart/Form-Data; boundary=\"XyZ\"", body);
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "event");
  EXPECT_EQ((*parts)[0].content_type, "application/json");
  EXPECT_EQ((*parts)[0].body, "{\"do\":\"close\"}");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, "a \"b\"; c.csv");
  EXPECT_EQ((*parts)[1].body, "x,y\r\n1,2") << "CRLF inside a file is the file's";
  EXPECT_TRUE(http::IsMultipartForm("multipart/form-data; boundary=a"));
  EXPECT_FALSE(http::IsMultipartForm("application/json"));
}

TEST(MultipartTest, ABodyCutOffOrMalformedIsRefusedSayingWhy) {
  const std::string type = "multipart/form-data; boundary=b";
  const std::string whole =
      "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.pdf\"\r\n\r\n"
      "%PDF-1.7 ... %%EOF\r\n--b--";
  ASSERT_TRUE(http::ParseMultipartForm(type, whole).ok());
  // Cut at every length: never a crash, never a part that was not closed.
  for (size_t n = 0; n < whole.size() - 2; ++n) {
    auto cut = http::ParseMultipartForm(type, whole.substr(0, n));
    EXPECT_FALSE(cut.ok()) << n;
  }
  auto cut = http::ParseMultipartForm(type, whole.substr(0, whole.size() - 12));
  EXPECT_EQ(cut.status().message(), "part 'file' has no closing boundary: the body was cut off");
  EXPECT_EQ(http::ParseMultipartForm("multipart/form-data", whole).status().message(),
            "multipart/form-data needs a boundary of 1 to 70 characters");
  EXPECT_FALSE(http::ParseMultipartForm(type, "--b\r\nX-Nothing: 1\r\n\r\nx\r\n--b--").ok());
  // A preamble of one byte: the boundary neither starts the body nor a line.
  EXPECT_EQ(http::ParseMultipartForm(type, "x" + whole).status().message(),
            "the body does not start with its boundary");
  EXPECT_TRUE(http::ParseMultipartForm(type, "preamble\r\n" + whole).ok());
  std::string many;
  for (int i = 0; i < 65; ++i)
    many += "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n";
  EXPECT_EQ(http::ParseMultipartForm(type, many + "--b--").status().message(),
            "more than 64 parts");
}

}  // namespace
}  // namespace rectrack
