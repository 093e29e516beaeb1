// The daily report's model on hand-built inputs: counts, changes, notable sentences, redaction.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "truce/agreement/term.h"
#include "truce/report/report.h"

namespace truce::report {
namespace {

const std::int64_t kDay = days_from_civil(2023, 9, 14);

Instant at(int h, int m) { return Instant{kDay * kDayMs + (h * 60 + m) * 60'000}; }

geo::Gazetteer martuni() {
  geo::Gazetteer g;
  g.add({"Martuni", {39.79496, 47.1117}, "PPLA", 5079, "AZ", std::string(geo::kGeoNamesCredit), 146969});
  g.add({"Askeran", {39.9391, 46.83161}, "PPL", 1639, "AZ", std::string(geo::kGeoNamesCredit), 148450});
  return g;
}

IncidentInput incident(std::string id, Instant start, std::string kind, std::string party,
                       std::optional<LatLon> origin, std::vector<std::string> observers) {
  IncidentInput i;
  i.id = std::move(id);
  i.start = start;
  i.end = Instant{start.ms + 60'000};
  i.kind = std::move(kind);
  i.party = std::move(party);
  i.origin = origin;
  i.observers = std::move(observers);
  i.reports = static_cast<std::int64_t>(i.observers.size());
  i.rounds = 1;
  return i;
}

ReportInputs base() {
  ReportInputs in;
  in.day = kDay;
  in.mission = "Test mission";
  in.observers = {{"P1", LatLon{39.80, 47.05}, "MON", ObserverType::kPost},
                  {"P2", LatLon{39.82, 47.06}, "MON", ObserverType::kPost},
                  {"P3", LatLon{39.78, 47.04}, "MON", ObserverType::kPost},
                  {"T1", LatLon{39.81, 47.00}, "MON", ObserverType::kPatrol}};
  // 21:40 artillery from NW of Martuni, three posts, breaks R2.
  auto a = incident("inc-a", at(21, 40), "artillery", "AZE", LatLon{39.8213, 47.0801}, {"P1", "P2", "P3"});
  a.distance_to_loc_m = 3212.4;
  a.ellipse = Ellipse{800, 300, 45};
  a.violations = {{"R2", "fire from the Lachin corridor"}};
  // 03:05 small arms, one observer, unlocated.
  auto b = incident("inc-b", at(3, 5), "small_arms", "", std::nullopt, {"P1"});
  // 10:15 mortar from outside every control zone, reviewed: verified with a note.
  auto c = incident("inc-c", at(10, 15), "mortar", "", LatLon{39.9012, 46.8401}, {"T1"});
  c.rounds = 6;
  c.distance_to_loc_m = 150;
  c.review_status = "verified";
  c.review_notes = "crater found by patrol T1";
  // 10:20 small arms from ARM-held area, two observers.
  auto d = incident("inc-d", at(10, 20), "small_arms", "ARM", LatLon{39.80, 47.02}, {"P2", "T1"});
  d.violations = {{"R1", "fire during the ceasefire"}};
  in.incidents = {a, b, c, d};
  in.gazetteer = martuni();
  in.observations = 9;
  in.simulated_observations = 0;
  return in;
}

std::int64_t count_of(const std::vector<Count>& v, const std::string& key) {
  for (const auto& c : v)
    if (c.key == key) return c.n;
  return -1;
}

TEST(DailyReport, CountsByKindPartyAreaStatusAndHour) {
  auto r = build_daily_report(base());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->date, "2023-09-14");
  EXPECT_EQ(r->incidents, 4);
  EXPECT_EQ(r->located, 3);
  EXPECT_EQ(r->observations, 9);
  ASSERT_EQ(r->by_kind.size(), 3u);
  EXPECT_EQ(r->by_kind[0].key, "small_arms");  // by count desc, then name
  EXPECT_EQ(r->by_kind[0].n, 2);
  EXPECT_EQ(count_of(r->by_kind, "artillery"), 1);
  EXPECT_EQ(count_of(r->by_kind, "mortar"), 1);
  EXPECT_EQ(count_of(r->by_party, "AZE"), 1);
  EXPECT_EQ(count_of(r->by_party, "ARM"), 1);
  EXPECT_EQ(count_of(r->by_party, "none"), 1);
  EXPECT_EQ(count_of(r->by_party, "unlocated"), 1);
  EXPECT_EQ(count_of(r->by_area, "Martuni"), 2);
  EXPECT_EQ(count_of(r->by_area, "Askeran"), 1);
  EXPECT_EQ(count_of(r->by_area, "unlocated"), 1);
  EXPECT_EQ(count_of(r->verification, "corroborated"), 2);  // inc-a (3 observers), inc-d (2)
  EXPECT_EQ(count_of(r->verification, "reported"), 1);      // inc-b
  EXPECT_EQ(count_of(r->verification, "verified"), 1);      // inc-c: the review wins over the count
  EXPECT_EQ(count_of(r->verification, "rejected"), 0);
  EXPECT_EQ(r->incidents_breaking_rules, 2);
  ASSERT_EQ(r->violations.size(), 2u);
  EXPECT_EQ(r->violations[0].rule, "R1");
  EXPECT_EQ(r->violations[1].rule, "R2");
  EXPECT_EQ(r->by_hour[3], 1);
  EXPECT_EQ(r->by_hour[10], 2);
  EXPECT_EQ(r->by_hour[21], 1);
  EXPECT_EQ(r->by_hour[0], 0);
  ASSERT_EQ(r->incident_list.size(), 4u);
  EXPECT_EQ(r->incident_list[0].id, "inc-b");  // by start time
  EXPECT_EQ(r->incident_list[3].id, "inc-a");
}

TEST(DailyReport, ChangeAgainstPreviousDayAndSevenDayMean) {
  auto in = base();
  for (std::int64_t d = 1; d <= 7; ++d) {
    DayCount c;
    c.day = kDay - d;
    c.by_kind[static_cast<std::size_t>(Kind::kMortar)] = d == 1 ? 1 : 3;  // 1 + 6*3 = 19 in 7 days
    in.history.push_back(c);
  }
  DayCount old;  // 20 days back: only in the trend
  old.day = kDay - 20;
  old.by_kind[static_cast<std::size_t>(Kind::kMlrs)] = 5;
  in.history.push_back(old);
  auto r = build_daily_report(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->change.previous_day, 1);
  EXPECT_EQ(r->change.vs_previous_day, 3);
  ASSERT_TRUE(r->change.vs_previous_day_pct);
  EXPECT_DOUBLE_EQ(*r->change.vs_previous_day_pct, 300.0);
  EXPECT_DOUBLE_EQ(r->change.mean_7d, 2.7);     // 19 / 7 = 2.714
  EXPECT_DOUBLE_EQ(r->change.vs_mean_7d, 1.3);  // 4 - 2.714
  ASSERT_TRUE(r->change.vs_mean_7d_pct);
  EXPECT_DOUBLE_EQ(*r->change.vs_mean_7d_pct, 47.4);
  ASSERT_EQ(r->trend.size(), 30u);
  EXPECT_EQ(r->trend.front().date, "2023-08-16");
  EXPECT_EQ(r->trend.back().date, "2023-09-14");
  EXPECT_EQ(r->trend.back().total, 4);
  EXPECT_EQ(r->trend[9].date, "2023-08-25");
  EXPECT_EQ(r->trend[9].total, 5);
  EXPECT_EQ(r->trend_kinds, (std::vector<std::string>{"small_arms", "mortar", "artillery", "mlrs"}));
}

TEST(DailyReport, NoPreviousDayMeansNoPercentage) {
  auto r = build_daily_report(base());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->change.previous_day, 0);
  EXPECT_EQ(r->change.vs_previous_day, 4);
  EXPECT_FALSE(r->change.vs_previous_day_pct);
  EXPECT_FALSE(r->change.vs_mean_7d_pct);
  const std::string md = to_markdown(*r);
  EXPECT_NE(md.find("- Against the previous day (0): +4.\n"), std::string::npos) << md;
}

TEST(DailyReport, NotableSentencesSayWhatWhereWhoAndWhichRule) {
  const auto in = base();
  auto r = build_daily_report(in);
  ASSERT_TRUE(r.ok());
  const auto where_a = in.gazetteer->describe({39.8213, 47.0801});
  ASSERT_TRUE(where_a);
  EXPECT_EQ(where_a->text.substr(where_a->text.size() - 13), "NW of Martuni");
  ASSERT_EQ(r->notable.size(),
            3u);  // the artillery (most observers, heaviest, R2), the mortar, R1's small arms
  // In time order.
  EXPECT_EQ(r->notable[0].id, "inc-c");
  EXPECT_EQ(r->notable[1].id, "inc-d");
  EXPECT_EQ(r->notable[2].id, "inc-a");
  EXPECT_EQ(r->notable[2].text,
            "At 21:40 UTC an artillery round was fired from " + where_a->text +
                " (AZE-held area, 3.2 km from the line of contact); 3 posts observed it; breaks "
                "rule R2 (fire from the Lachin corridor); corroborated.");
  EXPECT_EQ(r->notable[2].why,
            (std::vector<std::string>{"most observers (3)", "heaviest weapon (artillery)", "breaks R2"}));
  const auto where_c = in.gazetteer->describe({39.9012, 46.8401});
  EXPECT_EQ(r->notable[0].text,
            "At 10:15 UTC 6 mortar rounds were fired from " + where_c->text +
                " (outside the parties' areas, 150 m from the line of contact); 1 patrol observed "
                "it; verified. Analyst note: crater found by patrol T1");
  EXPECT_EQ(r->notable[1].text,
            "At 10:20 UTC small-arms fire was heard from " + in.gazetteer->describe({39.80, 47.02})->text +
                " (ARM-held area); 2 observers (1 patrol, 1 post) observed it; breaks rule R1 (fire "
                "during the ceasefire); corroborated.");
}

TEST(DailyReport, NotableListIsCappedAndUnlocatedIsSaidSo) {
  auto in = base();
  in.incidents = {in.incidents[1]};  // the unlocated small arms only, one observer
  in.incidents[0].violations = {{"R1", ""}};
  agreement::Agreement a;
  a.rules.push_back({});
  a.rules.back().id = "R1";
  a.rules.back().title = "ceasefire: no fire of any kind";
  in.agreement = a;
  auto r = build_daily_report(in);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->notable.size(), 1u);
  EXPECT_EQ(r->notable[0].text,
            "At 03:05 UTC small-arms fire was heard (origin not located: bearings only); 1 post observed it; "
            "breaks "
            "rule R1 (ceasefire: no fire of any kind); reported.");
  EXPECT_EQ(r->violations[0].title, "ceasefire: no fire of any kind");
  EXPECT_EQ(r->mandate, "");  // an agreement without a term has no mandate line
  Options o;
  o.max_notable = 1;
  auto full = build_daily_report(base(), o);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->notable.size(), 1u);
  EXPECT_EQ(full->notable[0].id, "inc-a");
}

TEST(DailyReport, PublicEditionRedactsInTheModel) {
  auto in = base();
  Options o;
  o.public_view = true;
  auto r = build_daily_report(in, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->map.posts.empty());
  for (const auto& i : r->incident_list) {
    EXPECT_TRUE(i.observer_ids.empty()) << i.id;
    EXPECT_TRUE(i.notes.empty()) << i.id;
    EXPECT_FALSE(i.ellipse) << i.id;
    if (i.origin) {
      EXPECT_NEAR(std::remainder(i.origin->lat, 0.05), 0, 1e-9) << i.id;
      EXPECT_NEAR(std::remainder(i.origin->lon, 0.05), 0, 1e-9) << i.id;
    }
  }
  EXPECT_EQ(r->incident_list[3].id, "inc-a");
  EXPECT_DOUBLE_EQ(r->incident_list[3].origin->lat, 39.8);
  EXPECT_DOUBLE_EQ(r->incident_list[3].origin->lon, 47.1);
  EXPECT_DOUBLE_EQ(*r->incident_list[3].distance_to_loc_m, 3000);
  // The counts are those of the full edition.
  auto full = build_daily_report(in);
  EXPECT_EQ(r->incidents, full->incidents);
  EXPECT_EQ(r->by_kind.size(), full->by_kind.size());
  // No format leaks an observer id, a note or a precise coordinate.
  for (const std::string& text : {to_json(*r), to_markdown(*r), to_html(*r)}) {
    for (const char* secret : {"\"P1\"", "P2", "P3", "crater found", "39.8213", "47.0801", "Analyst note"})
      EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(to_json(*r).find("\"public\": true"), std::string::npos);
  // The full edition does carry them (the test above can fail).
  const std::string fj = to_json(*full);
  EXPECT_NE(fj.find("crater found"), std::string::npos);
  EXPECT_NE(fj.find("\"P2\""), std::string::npos);
  const auto& a = r->notable.back();
  EXPECT_EQ(a.id, "inc-a");
  // Places are described from the rounded point, to the kilometre at best.
  EXPECT_NE(a.text.find("fired from near Martuni (AZE-held area, about 3 km from the line of contact)"),
            std::string::npos)
      << a.text;
  const auto& c = r->notable.front();
  EXPECT_EQ(c.id, "inc-c");
  const auto d = in.gazetteer->describe({39.9, 46.85});
  ASSERT_TRUE(d);
  EXPECT_NE(c.text.find("fired from about " + std::to_string(std::lround(d->distance_m / 1000)) + " km " +
                        std::string(geo::compass16(d->azimuth_deg)) +
                        " of Askeran (outside the parties' areas, about 0 km"),
            std::string::npos)
      << c.text;
}

TEST(DailyReport, MandateIsAsOfTheEndOfTheDay) {
  auto in = base();
  agreement::Agreement a;
  a.id = "x";
  a.title = "Test agreement";
  agreement::Term t;
  t.subject = "monitoring";
  t.effective = Instant{days_from_civil(2020, 11, 10) * kDayMs};
  t.length = {60, 0};
  t.renewal = agreement::Duration{60, 0};
  t.notice = {6, 0};
  a.term = t;
  in.agreement = a;
  auto r = build_daily_report(in);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto st = agreement::mandate_status(a, Instant{(kDay + 1) * kDayMs - 1000});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(r->mandate, agreement::status_line(a, *st));
  EXPECT_NE(r->mandate.find("term 1 ends 2025-11-10T00:00:00Z"), std::string::npos) << r->mandate;
  EXPECT_NE(r->mandate.find(std::to_string(st->days_left) + " days left"), std::string::npos);
  EXPECT_EQ(r->mission, "Test mission");
  // Same inputs, same bytes.
  EXPECT_EQ(to_json(*r), to_json(*build_daily_report(in)));
}

TEST(DailyReport, SimulatedObservationsAreCountedAndFlagged) {
  auto in = base();
  in.simulated_observations = 9;
  for (auto& i : in.incidents) i.simulated_reports = i.reports;
  in.incidents[0].simulated_reports = 1;  // inc-a: one of three simulated: not a simulated incident
  auto r = build_daily_report(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->simulated_observations, 9);
  EXPECT_EQ(r->simulated_incidents, 3);
  EXPECT_NE(to_markdown(*r).find("> **SIMULATED DATA.** 9 of 9 observations of this day are simulated"),
            std::string::npos);
  EXPECT_EQ(r->notable[0].text.rfind("SIMULATED: at 10:15 UTC", 0), 0u) << r->notable[0].text;
  EXPECT_EQ(r->notable[2].text.rfind("At 21:40 UTC", 0), 0u);
  auto j = nlohmann::json::parse(to_json(*r));
  EXPECT_EQ(j["totals"]["simulated_observations"], 9);
}

TEST(DailyReport, HumanitarianFiguresOfTheDay) {
  auto in = base();
  agreement::Crossing c;
  c.first_day = c.last_day = kDay;
  c.checkpoint = "X";
  c.people = 310;
  c.source = "s";
  in.crossings = {c};
  c.first_day = c.last_day = kDay - 1;
  c.people = 90;
  in.crossings.push_back(c);
  c.first_day = c.last_day = kDay + 1;  // after the report day: not counted
  c.people = 5000;
  in.crossings.push_back(c);
  in.baselines = {{"Area", 1000, kDay - 30, "b"}};
  auto r = build_daily_report(in);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->humanitarian);
  EXPECT_EQ(r->humanitarian->day_out, 310);
  EXPECT_EQ(r->humanitarian->total_out, 400);
  ASSERT_TRUE(r->humanitarian->share_out_pct);
  EXPECT_DOUBLE_EQ(*r->humanitarian->share_out_pct, 40.0);
  EXPECT_FALSE(build_daily_report(base())->humanitarian);
}

TEST(DailyReport, IncidentOfAnotherDayIsRefused) {
  auto in = base();
  in.incidents[1].start = Instant{kDay * kDayMs - 1000};
  auto r = build_daily_report(in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "incident inc-b starts at 2023-09-13T23:59:59Z: expected a start on 2023-09-14 (UTC)");
  in = base();
  in.incidents[0].kind = "rockets";
  r = build_daily_report(in);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "incident inc-a: kind \"rockets\": expected one of " + kind_list());
}

TEST(DailyReport, HtmlHasOneMarkPerLocatedIncidentAndNoExternalReference) {
  auto r = build_daily_report(base());
  ASSERT_TRUE(r.ok());
  const std::string html = to_html(*r);
  std::size_t marks = 0;
  for (auto p = html.find("<g class=\"incident\""); p != std::string::npos;
       p = html.find("<g class=\"incident\"", p + 1))
    ++marks;
  EXPECT_EQ(marks, 3u);
  EXPECT_NE(html.find("data-id=\"inc-a\""), std::string::npos);
  EXPECT_EQ(html.find("data-id=\"inc-b\" data-kind"), std::string::npos);  // unlocated: no mark
  EXPECT_EQ(html.find("http"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  EXPECT_NE(html.find("class=\"scale-bar\""), std::string::npos);
  EXPECT_NE(html.find("class=\"north-arrow\""), std::string::npos);
  EXPECT_NE(html.find("class=\"post\""), std::string::npos);
  EXPECT_NE(html.find("@page { size: A4"), std::string::npos);
}

TEST(DailyReport, EmptyDay) {
  ReportInputs in;
  in.day = kDay;
  auto r = build_daily_report(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->incidents, 0);
  EXPECT_TRUE(r->notable.empty());
  EXPECT_EQ(r->mission, "the mission");
  EXPECT_NE(to_markdown(*r).find("## Notable incidents\n\nNone.\n"), std::string::npos);
  EXPECT_NE(to_html(*r).find("No map: the mission has no geography and no incident was located."),
            std::string::npos);
}

TEST(DailyReport, ParseDayIsStrict) {
  EXPECT_EQ(*parse_day("2023-09-14"), kDay);
  EXPECT_EQ(format_day(kDay), "2023-09-14");
  EXPECT_FALSE(parse_day("2023-9-14").ok());
  EXPECT_EQ(parse_day("14/09/2023").status().message(), "expected a date YYYY-MM-DD, got \"14/09/2023\"");
}

TEST(DailyReport, SimulatedMarking) {
  Observation o;
  o.id = "sim-1-5";
  EXPECT_TRUE(is_simulated(o));
  o.id = "17";
  EXPECT_FALSE(is_simulated(o));
  o.notes = "SIMULATED";
  EXPECT_TRUE(is_simulated(o));
  o.notes = "";
  o.channel = "simulated";
  EXPECT_TRUE(is_simulated(o));
}

}  // namespace
}  // namespace truce::report
