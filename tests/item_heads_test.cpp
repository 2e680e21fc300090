// The item heads (storage/item_heads.h) and what reads them (Engine::ListFromHeads,
// AnnexFromHeads): answers equal a whole replay's at random dates, damaged heads are found by
// verify and repaired by rebuild, heads of another workflow or an earlier version are worked out
// again, and the command line lists from them (Annex A from them: annex_heads_test.cpp). Real
// SQLite files.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "storage/item_heads.h"
#include "tests/item_heads_fixture.h"

namespace rectrack {
namespace {

// Scan matches a body among a row's owners in SQLite: the whole id, exactly (case, and no
// wildcards), wherever it stands among the owners; "" matches every row, once. One body's rows
// come with their heads.
TEST(ItemHeadsScan, MatchesAnOwnerAsAWholeIdAmongTheOwners) {
  auto db = storage::Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.status().message();
  std::vector<storage::HeadRow> rows;
  for (const char* owners : {"CPS ", "CPSX ", "XCPS ", "SFO CPS ", "cps ", "C_S ", "SFO "}) {
    rows.push_back(
        {3, std::string("r-") + owners, "2024-01-01", "2024-01-01", owners, "issued", "", "{}"});
  }
  {
    auto tx = storage::Transaction::Begin(**db, storage::Transaction::Mode::kWrite);
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    ASSERT_TRUE(storage::ItemHeads(db->get()).Put(rows, {1, "b"}).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto owners_of = [&](const std::string& owner) {
    std::vector<std::string> seen;
    Status s = storage::ItemHeads(db->get()).Scan(3, "2024-12-31", owner,
                                                  [&](const storage::HeadRow& row) -> Result<bool> {
                                                    EXPECT_EQ(row.head, owner.empty() ? "" : "{}");
                                                    seen.push_back(row.owners);
                                                    return true;
                                                  });
    EXPECT_TRUE(s.ok()) << s.message();
    std::sort(seen.begin(), seen.end());
    return seen;
  };
  EXPECT_EQ(owners_of("CPS"), (std::vector<std::string>{"CPS ", "SFO CPS "}));
  EXPECT_EQ(owners_of("SFO"), (std::vector<std::string>{"SFO ", "SFO CPS "}));
  EXPECT_EQ(owners_of("C_S"), (std::vector<std::string>{"C_S "}));
  EXPECT_EQ(owners_of("C%"), std::vector<std::string>{});
  EXPECT_EQ(owners_of("").size(), rows.size());
  auto count = storage::ItemHeads(db->get()).Count();
  ASSERT_TRUE(count.ok()) << count.status().message();
  EXPECT_EQ(*count, static_cast<int64_t>(rows.size()));
  // Put replaces an item's copies whole: a body no longer among its owners no longer lists it.
  {
    auto tx = storage::Transaction::Begin(**db, storage::Transaction::Mode::kWrite);
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    storage::HeadRow moved = rows[3];  // "SFO CPS "
    moved.owners = "CPS ";
    ASSERT_TRUE(storage::ItemHeads(db->get()).Put({moved}, {2, "b"}).ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  EXPECT_EQ(owners_of("SFO"), (std::vector<std::string>{"SFO "}));
  EXPECT_EQ(owners_of("CPS"), (std::vector<std::string>{"CPS ", "CPS "}));
  std::vector<std::string> all;
  ASSERT_TRUE(storage::ItemHeads(db->get())
                  .All([&](const storage::HeadRow& row) {
                    all.push_back(row.item);
                    return Status();
                  })
                  .ok());
  EXPECT_EQ(all.size(), rows.size());
}

// An item's copies, one for each owner, must agree: All names the item whose copies do not.
TEST(ItemHeadsAll, NamesAnItemWhoseCopiesForItsOwnersDisagree) {
  auto db = storage::Database::Open(":memory:");
  ASSERT_TRUE(db.ok()) << db.status().message();
  auto sql = [&](const std::string& statements) {
    ASSERT_TRUE((*db)->Exec(statements.c_str()).ok()) << statements;
  };
  auto all_says = [&]() -> std::string {
    Status s = storage::ItemHeads(db->get()).All([](const storage::HeadRow&) { return Status(); });
    if (s.ok()) return "ok";
    EXPECT_EQ(s.code(), Code::kCorruption);
    return s.message();
  };
  auto reset = [&]() {
    sql("DELETE FROM item_heads");
    auto tx = storage::Transaction::Begin(**db, storage::Transaction::Mode::kWrite);
    ASSERT_TRUE(tx.ok()) << tx.status().message();
    ASSERT_TRUE(storage::ItemHeads(db->get())
                    .Put({{3, "r1", "2024-01-01", "2024-01-01", "SFO CPS ", "issued", "", "{}"},
                          {3, "r2", "2024-01-01", "2024-01-01", "CPS ", "issued", "", "{}"}},
                         {1, "b"})
                    .ok());
    ASSERT_TRUE(tx->Commit().ok());
  };
  reset();
  EXPECT_EQ(all_says(), "ok");
  sql("UPDATE item_heads SET head = '{\"x\":1}' WHERE item = 'r1' AND owner = 'CPS'");
  EXPECT_EQ(all_says(),
            "the item heads' rows for 'r1' differ between the copies for 'SFO' and 'CPS'; "
            "`rectrack rebuild` rebuilds them from the log");
  reset();
  sql("DELETE FROM item_heads WHERE item = 'r1' AND owner = 'CPS'");
  EXPECT_EQ(all_says(),
            "the item heads' rows for 'r1' are kept under 'SFO' where its owners are "
            "'SFO CPS '; `rectrack rebuild` rebuilds them from the log");
  reset();
  sql("UPDATE item_heads SET lead = 1 WHERE item = 'r1'");
  EXPECT_NE(all_says().find("'r1' have more than one lead row"), std::string::npos);
  reset();
  sql("UPDATE item_heads SET lead = 0 WHERE item = 'r2'");
  EXPECT_NE(all_says().find("'r2' have no lead row"), std::string::npos);
  reset();
  sql("UPDATE item_heads SET lead = 1 - lead WHERE item = 'r1'");
  EXPECT_NE(all_says().find("'r1' have their lead row under 'CPS', not its first owner 'SFO'"),
            std::string::npos);
}

TEST_F(ItemHeadsTest, ListsAndAnnexesFromTheItemHeadsEqualAWholeReplayAtRandomDates) {
  int compared = 0, annex_rows = 0, annex_notes = 0;
  // Heads written with every event, every 7 (the recommendations changed since are read whole),
  // never after the first (all of them read whole); and written by scoped engines, one event
  // each, as `rectrack record` writes them. And heads written less often than the index (the
  // recommendations changed since read whole).
  struct Run {
    unsigned seed;
    int64_t batch;
    bool scoped_writes;
    int64_t heads_batch;
  };
  for (const Run& run : {Run{61, 1, false, 1}, Run{62, 7, false, 7}, Run{63, 100000, false, 1},
                         Run{64, 5, true, 5}, Run{69, 3, false, 40}, Run{70, 2, true, 25}}) {
    SCOPED_TRACE("seed " + std::to_string(run.seed));
    fs::remove(db());
    fs::remove(db() + "-wal");
    fs::remove(db() + "-shm");
    index_batch_ = run.batch;
    heads_batch_ = run.heads_batch;
    std::mt19937 rng(run.seed);
    EXPECT_GT(MakeRandomWorld(rng, 30, run.scoped_writes ? 250 : 400, run.scoped_writes), 80);
    // Today (every recommendation settled: read from its head), before any event, after
    // some, and random dates (the recommendations changed after them read whole).
    std::vector<Date> dates = {D("2026-01-15"), D("2020-01-31"), D("2021-06-30")};
    for (int i = 0; i < 3; ++i) dates.push_back(RandomDay(rng));
    ExpectListsFromHeadsEqualReplay(dates, &compared);
    ExpectAnnexesFromHeadsEqualReplay(dates, &annex_rows, &annex_notes);
    auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_TRUE(verified.ok()) << verified.status().message();
    EXPECT_TRUE(verified->heads_current);
    // Every recommendation and action has its row, checked, but those changed since the heads'
    // last event (read whole by a list).
    EXPECT_GT(verified->head_rows, run.batch == 100000 ? -1 : 30);
  }
  EXPECT_GT(compared, 1000);
  // The annexes said something: rows in both tables, notes made from the turns.
  EXPECT_GT(annex_rows, 300);
  EXPECT_GT(annex_notes, 20);
}

TEST_F(ItemHeadsTest, VerifyFindsDamagedHeadsAndRebuildRepairsThem) {
  std::mt19937 rng(65);
  MakeRandomWorld(rng, 12, 150);
  ListQuery open_cps;
  open_cps.body = "CPS";
  open_cps.open = true;
  const std::string listed = ListedFromHeads(open_cps);
  auto verify_says = [&](const std::string& what) {
    auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_FALSE(verified.ok()) << what;
    EXPECT_EQ(verified.status().code(), Code::kCorruption);
    EXPECT_NE(verified.status().message().find(what), std::string::npos)
        << verified.status().message();
    EXPECT_NE(verified.status().message().find("`rectrack rebuild` rebuilds them"),
              std::string::npos);
    auto rebuilt = Open().value()->Rebuild();
    ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().message();
    auto again = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_TRUE(again->heads_current);
    EXPECT_EQ(ListedFromHeads(open_cps), listed);
  };
  Sql("UPDATE item_heads SET state = 'draft' WHERE kind = 3 AND item = 'r4'");
  verify_says("the item heads' row for recommendation 'r4' has state 'draft' where the log gives");
  Sql(R"(UPDATE item_heads SET head = replace(head, '"version":', '"version":1')
         WHERE kind = 4 AND item = 'a2')");
  verify_says("the item heads' row for action 'a2' has head");
  Sql("DELETE FROM item_heads WHERE kind = 3 AND item = 'r7'");
  verify_says("the item heads lack the row for recommendation 'r7', which the log has");
  Sql("INSERT INTO item_heads SELECT owner, kind, issued, 'r99', lead, settled, owners, state, "
      "overdue_from, head FROM item_heads WHERE item = 'r1'");
  verify_says("the item heads have a row for recommendation 'r99', which the log does not have");
  // A head that no longer decodes: a list says so, and verify names it.
  Sql(R"(UPDATE item_heads SET head = '{"id": 1}' WHERE kind = 3 AND item = 'r2')");
  EXPECT_NE(ListedFromHeads({}).find("the item heads' row for 'r2' does not decode"),
            std::string::npos);
  verify_says("the item heads' row for recommendation 'r2' has head");
  // A head of another kind in a recommendation's row: refused, not read as an action.
  Sql(R"(UPDATE item_heads SET head = replace(head, '"kind":3', '"kind":4')
         WHERE kind = 3 AND item = 'r5')");
  EXPECT_NE(ListedFromHeads({}).find("the item heads' row for 'r5' does not decode: it is the "
                                     "head of another item"),
            std::string::npos);
  verify_says("the item heads' row for recommendation 'r5' has head");
  // A joint recommendation (r0, owned by the CPS and the SFO) whose copy for one body differs,
  // or is missing: that body's list and Annex A would be wrong, and verify says so.
  Sql("UPDATE item_heads SET state = 'closed' WHERE kind = 3 AND item = 'r0' AND lead = 0");
  verify_says("the item heads' rows for 'r0' differ between the copies for 'CPS' and 'SFO'");
  Sql("DELETE FROM item_heads WHERE kind = 3 AND item = 'r0' AND lead = 0");
  verify_says("the item heads' rows for 'r0' are kept under 'CPS' where its owners are 'CPS SFO '");
}

TEST_F(ItemHeadsTest, AnEngineOpenedForListsAnswersListsOnly) {
  std::mt19937 rng(68);
  MakeRandomWorld(rng, 6, 40);
  Engine::Options options{db(), kWorkflow, &clock_, true, ""};
  options.heads_only = true;
  auto engine = Engine::Open(options).value();
  ASSERT_TRUE(engine->reads_heads());
  EXPECT_EQ(engine->Verify().status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(engine->Rebuild().status().code(), Code::kFailedPrecondition);
  RecordEvent e{"r1", "update", D("2025-01-01"), "inspectorate"};
  e.note = "noted";
  EXPECT_EQ(engine->Apply({e}, "test").status().code(), Code::kFailedPrecondition);
  // Another process writes: Refresh leaves it as it is (it reads the heads afresh each list).
  ASSERT_TRUE(Open().value()->Apply({e}, "test").ok());
  EXPECT_TRUE(engine->Refresh().ok());
  auto listed = engine->ListFromHeads({});
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(ListAsJson(*listed), ListAsJson(Open().value()->List({}).value()));
  // A body id that no row can hold matches nothing.
  ListQuery spaced;
  spaced.body = "CPS SFO";
  EXPECT_EQ(ListAsJson(engine->ListFromHeads(spaced).value()), "[]");
}

TEST_F(ItemHeadsTest, AnEngineOpenedForListsVisitsAListPageByPageWithoutReadingTheLog) {
  // More recommendations than VisitList's first pages hold (64, then 128): the pages follow
  // on from one another, whatever the filters and however early the visitor stops.
  std::mt19937 rng(71);
  heads_batch_ = 50;  // some recommendations changed since the heads: read whole, in order
  MakeRandomWorld(rng, 300, 700);
  auto whole = Open().value();
  for (const char* body : {"", "CPS", "SFO"}) {
    for (std::optional<bool> open : {std::optional<bool>(), std::optional(true)}) {
      ListQuery q;
      q.body = body;
      q.open = open;
      const std::vector<RecommendationView> listed = whole->List(q).value();
      EXPECT_GT(listed.size(), body[0] && open ? 30u : 100u);
      EXPECT_EQ(VisitedFromHeads(q), ListAsJson(listed)) << "body '" << body << "'";
      for (size_t most : {size_t{1}, size_t{64}, size_t{65}, size_t{200}}) {
        const std::vector<RecommendationView> first(
            listed.begin(), listed.begin() + static_cast<long>(std::min(most, listed.size())));
        EXPECT_EQ(VisitedFromHeads(q, most), ListAsJson(first)) << "the first " << most;
        q.limit = most;
        EXPECT_EQ(VisitedFromHeads(q), ListAsJson(first)) << "limit " << most;
        q.limit = 0;
      }
    }
  }
  // A visit reads at most Options::most_rows_visited rows, those its filters skip too: one
  // that would read more is Unavailable, however few it would have given.
  Engine::Options bounded{db(), kWorkflow, &clock_, true, ""};
  bounded.heads_only = true;
  bounded.heads_batch = heads_batch_;
  bounded.most_rows_visited = 100;
  auto short_visits = Engine::Open(bounded).value();
  ListQuery superseded;
  superseded.state = "superseded";  // few of them, spread over the list
  const size_t how_many = whole->List(superseded).value().size();
  EXPECT_GT(how_many, 0u);
  EXPECT_LT(how_many, 60u);
  size_t given = 0;
  Status bounded_visit = short_visits->VisitList(superseded, [&](const RecommendationView&) {
    ++given;
    return true;
  });
  EXPECT_EQ(bounded_visit.code(), Code::kUnavailable) << bounded_visit.message();
  EXPECT_NE(bounded_visit.message().find("reads more than 100 rows"), std::string::npos);
  ListQuery first_ten;
  first_ten.limit = 10;
  EXPECT_TRUE(
      short_visits->VisitList(first_ten, [](const RecommendationView&) { return true; }).ok());
  // Heads that cannot answer (worked out under another workflow): Unavailable, and the log is
  // not read (a server starting would hold it twice).
  Sql("UPDATE item_heads_mark SET basis = 'another workflow'");
  auto engine = OpenForLists().value();
  EXPECT_FALSE(engine->HeadsAreCurrent().value());
  Status visited = engine->VisitList({}, [](const RecommendationView&) { return true; });
  EXPECT_EQ(visited.code(), Code::kUnavailable);
  EXPECT_NE(visited.message().find("the item heads cannot answer this list"), std::string::npos);
  EXPECT_TRUE(engine->reads_heads());
}

TEST_F(ItemHeadsTest, HeadsWorkedOutUnderAnotherWorkflowAreNotReadUntilWorkedOutAgain) {
  std::mt19937 rng(66);
  MakeRandomWorld(rng, 12, 150);
  // As if the workflow file had changed since the heads were written: their basis is another.
  Sql("UPDATE item_heads_mark SET basis = 'another workflow'");
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_FALSE(verified->heads_current);
  EXPECT_EQ(verified->head_rows, 0);
  // A scoped write cannot work them all out again, and leaves them as they are ...
  RecordEvent e{"r3", "update", D("2025-01-01"), "inspectorate"};
  e.note = "noted";
  index_batch_ = 1;
  ASSERT_TRUE(Open({"r3"}).value()->Apply({e}, "test").ok());
  EXPECT_FALSE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""})->heads_current);
  // ... the next list reads the whole log, and works them out for the lists after it.
  Engine::Options writes_nothing{db(), kWorkflow, &clock_, false, ""};
  writes_nothing.index_if_behind = false;
  const std::string after = ListAsJson(Engine::Open(writes_nothing).value()->List({}).value());
  EXPECT_FALSE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""})->heads_current);
  bool read_heads = true;
  EXPECT_EQ(ListedFromHeads({}, &read_heads), after);
  EXPECT_FALSE(read_heads);
  verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  EXPECT_EQ(ListedFromHeads({}, &read_heads), after);
  EXPECT_TRUE(read_heads);
  // So does any engine that reads the whole log.
  Sql("UPDATE item_heads_mark SET basis = 'another workflow'");
  Open().value();
  EXPECT_TRUE(Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""})->heads_current);
}

TEST_F(ItemHeadsTest, AHeadDependsOnlyOnTheEventsThatNameIt) {
  const std::string workflow = NotesAfterSupersede();
  ASSERT_FALSE(workflow.empty());
  Engine::Options options = WithEveryEvent(workflow);
  {
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    auto commands = ParseImport(R"(
bodies:
  - {id: CPS, name: Crown Prosecution Service}
inspections:
  - {id: i1, title: Disclosure, published: 2025-01-01}
recommendations:
  - {id: r1, inspection: i1, owners: [CPS], text: "Improve disclosure."}
  - {id: r2, inspection: i1, owners: [CPS], text: "Improve disclosure, again."}
)",
                                "world.yaml", (*engine)->workflow(), nullptr);
    ASSERT_TRUE(commands.ok()) << commands.status().message();
    ASSERT_TRUE((*engine)->Apply(*commands, "test").ok());
    RecordEvent supersede{"r1", "supersede", D("2025-02-01"), "inspectorate"};
    supersede.fields["superseded_by"] = {"r2"};
    auto applied = (*engine)->Apply({supersede}, "test");
    ASSERT_TRUE(applied.ok()) << applied.status().message();
    RecordEvent note{"r1", "update", D("2025-03-01"), "inspectorate"};
    note.note = "still referred to";
    applied = (*engine)->Apply({note}, "test");
    ASSERT_TRUE(applied.ok()) << applied.status().message();
  }
  options.index_if_behind = false;
  auto verified = Engine::VerifyDatabase(options);
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  EXPECT_EQ(verified->head_rows, 2);
  auto whole = Engine::Open(options).value();
  options.heads_only = true;
  for (const char* as_of : {"2025-01-15", "2025-02-15", "2025-03-15"}) {
    ListQuery q;
    q.as_of = D(as_of);
    auto listed = Engine::Open(options).value()->ListFromHeads(q);
    ASSERT_TRUE(listed.ok()) << listed.status().message();
    EXPECT_EQ(ListAsJson(*listed), ListAsJson(whole->List(q).value())) << as_of;
  }
}

TEST_F(ItemHeadsTest, ADatabaseOfSchema9GetsItsHeadsFromTheFirstWholeRead) {
  std::mt19937 rng(67);
  MakeRandomWorld(rng, 12, 150);
  ListQuery open_sfo;
  open_sfo.body = "SFO";
  open_sfo.open = true;
  const std::string expected = ListAsJson(Open().value()->List(open_sfo).value());
  // Schema 9, as the previous rectrack wrote it: the item index, no heads.
  Sql("DROP TABLE item_heads; DROP TABLE item_heads_mark; PRAGMA user_version = 9;");
  bool read_heads = true;
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();  // migrated, writing nothing else
  EXPECT_FALSE(verified->heads_current);
  // The first list reads the whole log and works them out.
  EXPECT_EQ(ListedFromHeads(open_sfo, &read_heads), expected);
  EXPECT_FALSE(read_heads);
  verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  EXPECT_GE(verified->head_rows, 18);  // 12 recommendations and 6 actions
  EXPECT_EQ(ListedFromHeads(open_sfo, &read_heads), expected);
  EXPECT_TRUE(read_heads);
}

TEST_F(ItemHeadsTest, TheCommandLineListsFromTheItemHeads) {
  std::mt19937 rng(18);
  MakeRandomWorld(rng, 10, 60);
  const std::string flags = "--db " + db() + " --clock 2026-01-15 ";
  CliRun all = Rectrack(flags + "list --format csv");
  ASSERT_EQ(all.status, 0) << all.out;
  CliRun first = Rectrack(flags + "list --format csv --limit 3");
  ASSERT_EQ(first.status, 0) << first.out;
  std::istringstream lines(all.out);
  std::string line, expected;
  for (int i = 0; i < 4 && std::getline(lines, line); ++i) expected += line + "\n";
  EXPECT_EQ(first.out, expected);
  // It reads the heads: one altered behind rectrack's back is what it shows, and verify finds.
  const std::string listed = Rectrack(flags + "list --format json").out;
  EXPECT_NE(listed.find("Improve case 1."), std::string::npos) << listed;
  Sql("UPDATE item_heads SET head = replace(head, 'Improve case 1.', 'Altered.') "
      "WHERE item = 'r1'");
  EXPECT_NE(Rectrack(flags + "list --format json").out.find("Altered."), std::string::npos);
  CliRun verify = Rectrack(flags + "verify");
  EXPECT_EQ(verify.status, 1);
  EXPECT_NE(verify.out.find("the item heads' row for recommendation 'r1' has head"),
            std::string::npos)
      << verify.out;
  CliRun rebuild = Rectrack(flags + "rebuild");
  ASSERT_EQ(rebuild.status, 0) << rebuild.out;
  EXPECT_NE(rebuild.out.find("and the item heads"), std::string::npos) << rebuild.out;
  EXPECT_EQ(Rectrack(flags + "list --format json").out, listed);
  verify = Rectrack(flags + "verify");
  EXPECT_EQ(verify.status, 0) << verify.out;
  EXPECT_NE(verify.out.find("the item heads ("), std::string::npos) << verify.out;
  for (const char* bad : {"0", "-1", "x", "10000000000"}) {
    CliRun refused = Rectrack(flags + "list --limit " + bad);
    EXPECT_EQ(refused.status, 2) << bad;  // a usage mistake
    EXPECT_NE(refused.out.find("--limit must be a whole number from 1 to 999999999, not '" +
                               std::string(bad) + "'"),
              std::string::npos)
        << refused.out;
  }
}

TEST_F(ItemHeadsTest, ADatabaseOfSchema10IsUpgradedThroughTwoMigrationsAndItsHeadsWorkedOutAgain) {
  std::mt19937 rng(71);
  MakeRandomWorld(rng, 12, 150);
  const std::string expected = AnnexAsJson(Open().value()->Annex("CPS", D("2022-03-31")).value());
  // Schema 10, as rectrack wrote it two versions ago: one row for each item, the heads' index on
  // (kind, issued, item). Migration 11 redefines that index and 12 drops the table for the one
  // kept by owner: whatever heads it held are worked out again.
  BackToOneRowForEachItem("CREATE INDEX item_heads_by_issue ON item_heads (kind, issued, item);");
  Sql("PRAGMA user_version = 10;");
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();  // migrated, writing nothing else
  EXPECT_FALSE(verified->heads_current);
  EXPECT_EQ(IndexColumns("item_heads_by_issue"), 8);
  EXPECT_EQ(IndexColumns("item_heads_by_item"), 2);
  // The first annex reads the whole log and works the heads out; the next reads them.
  bool read_heads = true;
  EXPECT_EQ(AnnexedFromHeads("CPS", D("2022-03-31"), &read_heads), expected);
  EXPECT_FALSE(read_heads);
  verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  EXPECT_EQ(AnnexedFromHeads("CPS", D("2022-03-31"), &read_heads), expected);
  EXPECT_TRUE(read_heads);
}

TEST_F(ItemHeadsTest, ADatabaseOfSchema11GetsItsHeadsKeptForEachOwnerAndWorkedOutAgain) {
  std::mt19937 rng(72);
  MakeRandomWorld(rng, 15, 150);
  const std::string expected = AnnexAsJson(Open().value()->Annex("SFO", D("2023-03-31")).value());
  ListQuery cps;
  cps.body = "CPS";
  const std::string listed = ListAsJson(Open().value()->List(cps).value());
  // Schema 11, as the previous rectrack wrote it: one row for each item, current heads.
  BackToOneRowForEachItem(
      "CREATE INDEX item_heads_by_issue "
      "ON item_heads (kind, issued, item, settled, owners, state, overdue_from);");
  Sql("PRAGMA user_version = 11;");
  auto verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();  // migrated, writing nothing else
  EXPECT_FALSE(verified->heads_current);
  EXPECT_EQ(verified->head_rows, 0);
  EXPECT_EQ(IndexColumns("item_heads_by_item"), 2);
  // The list of every body reads the lead rows from this index alone: it has every column
  // the query reads, `lead` too.
  EXPECT_EQ(IndexColumns("item_heads_by_issue"), 8);
  // The first annex reads the whole log and works the heads out, a copy for each owner.
  bool read_heads = true;
  EXPECT_EQ(AnnexedFromHeads("SFO", D("2023-03-31"), &read_heads), expected);
  EXPECT_FALSE(read_heads);
  verified = Engine::VerifyDatabase({db(), kWorkflow, &clock_, false, ""});
  ASSERT_TRUE(verified.ok()) << verified.status().message();
  EXPECT_TRUE(verified->heads_current);
  EXPECT_GE(verified->head_rows, 15);
  // r0, r5 and r10 are the CPS's and the SFO's: kept twice, listed once by each.
  {
    auto raw = storage::Database::Open(db(), storage::Database::OpenMode::kExisting).value();
    auto copies = raw->Prepare(
        "SELECT group_concat(owner || lead, ' ') FROM "
        "(SELECT owner, lead FROM item_heads WHERE kind = 3 AND item = 'r5' ORDER BY owner)");
    ASSERT_TRUE(copies.ok() && *copies->Step());
    EXPECT_EQ(copies->ColumnText(0), "CPS1 SFO0");
  }
  EXPECT_EQ(AnnexedFromHeads("SFO", D("2023-03-31"), &read_heads), expected);
  EXPECT_TRUE(read_heads);
  EXPECT_EQ(ListedFromHeads(cps, &read_heads), listed);
  EXPECT_TRUE(read_heads);
  EXPECT_EQ(ListedFromHeads({}, &read_heads), ListAsJson(Open().value()->List({}).value()));
  EXPECT_TRUE(read_heads);
}

}  // namespace
}  // namespace rectrack
