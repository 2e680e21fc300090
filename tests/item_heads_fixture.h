// The fixture the item heads' tests share (item_heads_test.cpp, annex_heads_test.cpp): a random
// world's database (item_store_fixture.h), with ways to read its heads, to write them as older
// schemas had them, and to compare answers from them with a whole replay's.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>

#include "storage/item_heads.h"
#include "tests/item_store_fixture.h"

namespace rectrack {
namespace {

class ItemHeadsTest : public ItemIndexTest {
 protected:
  // The heads' table as schema 11 and earlier had it, one row for each item (its lead row
  // now), with `index` (that version's item_heads_by_issue).
  void BackToOneRowForEachItem(const std::string& index) {
    const std::string statements =
        "CREATE TABLE old_heads (kind INTEGER NOT NULL, item TEXT NOT NULL, "
        "issued TEXT NOT NULL, settled TEXT NOT NULL, owners TEXT NOT NULL, "
        "state TEXT NOT NULL, overdue_from TEXT NOT NULL, head TEXT NOT NULL, "
        "PRIMARY KEY (kind, item)) WITHOUT ROWID;"
        "INSERT INTO old_heads SELECT kind, item, issued, settled, owners, state, overdue_from, "
        "head FROM item_heads WHERE lead = 1;"
        "DROP TABLE item_heads; ALTER TABLE old_heads RENAME TO item_heads;" +
        index;
    Sql(statements.c_str());
  }

  // The bundled workflow, but for a progress note allowed after a supersede too: a superseded
  // recommendation can still change.
  std::string NotesAfterSupersede() {
    return WorkflowWith(
        "  - name: update       # a progress note; no `to`: the state does "
        "not change\n    from: [issued, reopened, closed]",
        "  - name: update\n    from: [issued, reopened, closed, superseded]",
        "notes-after-supersede.yaml");
  }

  // Options over `workflow` that index every event and work out the heads with each.
  Engine::Options WithEveryEvent(const std::string& workflow) {
    Engine::Options options{db(), workflow, &clock_, true, ""};
    options.index_batch = 1;
    options.heads_batch = 1;
    return options;
  }

  // How many columns index `name` has (after the migrations, when opened).
  int64_t IndexColumns(const std::string& name) {
    auto raw = storage::Database::Open(db(), storage::Database::OpenMode::kExisting).value();
    EXPECT_EQ(raw->schema_version(), 12);
    auto columns = raw->Prepare("SELECT count(*) FROM pragma_index_info('" + name + "')");
    EXPECT_TRUE(columns.ok() && *columns->Step());
    return columns->ColumnInt(0);
  }

  // Annex A for each body at each of `dates`, read from the heads as by a whole replay; adds
  // to `rows` and `notes` how many rows the annexes had, and how many of them with a note
  // made from the turns (closed, reopened after an assessment, ...).
  void ExpectAnnexesFromHeadsEqualReplay(const std::vector<Date>& dates, int* rows, int* notes) {
    auto whole = Open();
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    for (Date as_of : dates) {
      for (const char* body : {"CPS", "SFO"}) {
        auto annex = (*whole)->Annex(body, as_of);
        ASSERT_TRUE(annex.ok()) << annex.status().message();
        bool read_heads = false;
        EXPECT_EQ(AnnexedFromHeads(body, as_of, &read_heads), AnnexAsJson(*annex))
            << body << " as at " << as_of.ToString();
        EXPECT_TRUE(read_heads);
        for (const auto* table : {&annex->open, &annex->closed}) {
          *rows += static_cast<int>(table->size());
          for (const AnnexRow& row : *table) *notes += row.note.rfind("This was closed", 0) == 0;
        }
      }
    }
  }

  // Lists of every kind (bodies, open or closed, states, overdue, limits) at each of `dates`,
  // read from the heads as by a whole replay.
  void ExpectListsFromHeadsEqualReplay(const std::vector<Date>& dates, int* compared) {
    auto whole = Open();
    ASSERT_TRUE(whole.ok()) << whole.status().message();
    std::vector<ListQuery> queries;
    for (const char* body : {"", "CPS", "SFO"}) {
      for (std::optional<bool> open :
           {std::optional<bool>(), std::optional(true), std::optional(false)}) {
        for (size_t limit : {0, 1, 5}) {
          ListQuery q;
          q.body = body;
          q.open = open;
          q.limit = limit;
          queries.push_back(q);
        }
      }
      for (const char* state : {"open", "closed", "superseded"}) {
        ListQuery q;
        q.body = body;
        q.state = state;
        queries.push_back(q);
      }
      ListQuery overdue;
      overdue.body = body;
      overdue.overdue_only = true;
      queries.push_back(overdue);
      overdue.limit = 2;
      queries.push_back(overdue);
    }
    for (Date as_of : dates) {
      // Pages after a place in list order: where a whole list's first, middle and last entries
      // stand, and a place no recommendation holds.
      std::vector<ListQuery> pages = queries;
      ListQuery all;
      all.as_of = as_of;
      const std::vector<RecommendationView> listed = (*whole)->List(all).value();
      std::vector<std::pair<Date, std::string>> places = {{as_of.AddDays(-400), "m"}};
      for (size_t i : {size_t{0}, listed.size() / 2, listed.size() - 1}) {
        if (i < listed.size()) places.emplace_back(listed[i].issued, listed[i].id);
      }
      for (const auto& place : places) {
        for (ListQuery q : {queries[0], queries[1], queries[4], queries[13]}) {
          q.after = place;
          pages.push_back(q);
        }
        // The page is the whole list's entries after the place, whatever the filters.
        ListQuery page = all;
        page.after = place;
        std::vector<RecommendationView> expected;
        for (const RecommendationView& v : listed) {
          if (std::pair(v.issued, v.id) > place) expected.push_back(v);
        }
        EXPECT_EQ(ListAsJson((*whole)->List(page).value()), ListAsJson(expected))
            << "after " << place.first.ToString() << " " << place.second;
      }
      // A visit ends when the visitor says so, with the views List gives, in its order.
      int visited = 0;
      EXPECT_TRUE((*whole)
                      ->VisitList(all,
                                  [&](const RecommendationView& v) {
                                    EXPECT_EQ(v.id, listed[static_cast<size_t>(visited)].id);
                                    return ++visited < 3;
                                  })
                      .ok());
      EXPECT_EQ(visited, std::min<int>(3, static_cast<int>(listed.size())));
      for (ListQuery q : pages) {
        q.as_of = as_of;
        bool read_heads = false;
        const std::string replayed = ListAsJson((*whole)->List(q).value());
        EXPECT_EQ(ListedFromHeads(q, &read_heads), replayed)
            << "as at " << as_of.ToString() << " body '" << q.body << "' state '" << q.state
            << "' limit " << q.limit;
        EXPECT_TRUE(read_heads);
        // And visited as `serve` lists while it reads the log (EngineHost::kStarting).
        EXPECT_EQ(VisitedFromHeads(q), replayed) << "visited as at " << as_of.ToString();
        ++*compared;
      }
    }
  }
};

}  // namespace
}  // namespace rectrack
