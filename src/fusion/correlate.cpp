// Correlation: which reports describe one event.
//
// 1. Candidate pairs: two reports from different observers whose event-time intervals overlap,
//    whose kinds one true kind explains, and whose projected points agree within their
//    (linearised) uncertainty. Reports sorted by time are swept with a window of the largest
//    possible report delay, so this is O(n * reports per window).
// 2. The pairs split the reports into independent groups (connected components).
// 3. In each group, clusters are merged greedily, cheapest first (constrained agglomerative
//    clustering): the cost of a merge is the increase of the least-squares misfit of the merged
//    origin, plus a time term (the event-time intervals of both, recomputed at the merged origin,
//    must overlap) and a round-count term. A merge is refused when an observer would appear twice,
//    when no kind explains all reports, or when the cost exceeds Config::merge_gate. Each cluster
//    keeps its candidate links (with their cost) and a record of its best partner; only those
//    records are in the priority queue, and a merge re-prices the merged cluster's links only.
// The outcome depends only on the group's reports (ties are broken by report time and index),
// so fusing any superset that contains the whole group gives the same clusters.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <type_traits>

#include "fusion/model.h"
#include "truce/core/parallel.h"
#include "truce/core/prefault.h"

namespace truce::fusion {

using detail::Fit;
using detail::Meas;
using detail::Plane;

namespace {

// Frees memory from ::operator new (the measurement models' buffer).
struct FreeRaw {
  void operator()(void* p) const { ::operator delete(p); }
};

struct UnionFind {
  std::vector<std::uint32_t> p;
  explicit UnionFind(std::size_t n) : p(n) { std::iota(p.begin(), p.end(), 0u); }
  std::uint32_t find(std::uint32_t x) {
    while (p[x] != x) x = p[x] = p[p[x]];
    return x;
  }
  void unite(std::uint32_t a, std::uint32_t b) {
    a = find(a), b = find(b);
    if (a == b) return;
    if (a < b) std::swap(a, b);
    p[a] = b;
  }
};

// A candidate merge with cluster o: its cost (1e300 when refused), exact when slot names the
// merged fit in Agglomerator::fits_, else the linearised estimate.
struct Link {
  std::uint32_t o;
  std::uint32_t slot;
  double key;
};

struct Cluster {
  std::vector<std::uint32_t> mem;  // indices into the meas array, ascending
  std::vector<std::uint32_t> obs;  // observer ids, ascending
  std::uint64_t obs_bits = 0;      // bit (id % 64) of each observer: disjoint bits, disjoint observers
  std::uint32_t kmask = 0;
  Fit fit;
  double lnc_sum = 0, varc_sum = 0;
  double pre_lo = -1e300, pre_hi = 1e300;  // intersection of the members' pre-gate intervals
  double cov[3] = {0, 0, 0};               // covariance of the fit (ee, nn, en), m^2
  Plane plane;                             // local plane at the fit's origin
  bool alive = true;
  std::vector<Link> links;  // candidate merges with the clusters it touches
  double bkey = 1e300;      // its best partner: the cheapest link, (key, pair)
  std::uint64_t bab = UINT64_MAX;
  std::uint32_t bslot = UINT32_MAX;  // and its slot
  std::uint32_t hpos = UINT32_MAX;   // position of that record in the heap (none: UINT32_MAX)
};

// Derives cov and plane from the cluster's fit.
void set_derived(Cluster& c) {
  c.plane = c.fit.kx > 0 ? Plane{c.fit.lat, c.fit.lon, c.fit.kx, c.fit.ky} : Plane::at(c.fit.lat, c.fit.lon);
  const double* h = c.fit.h;
  const double det = h[0] * h[1] - h[2] * h[2];
  if (det > 0) {
    c.cov[0] = h[1] / det, c.cov[1] = h[0] / det, c.cov[2] = -h[2] / det;
  } else {
    c.cov[0] = c.cov[1] = 1e12, c.cov[2] = 0;
  }
}

bool disjoint(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) return false;
    if (a[i] < b[j])
      ++i;
    else
      ++j;
  }
  return true;
}

// Event-time interval of the members `mem` (indices into `members`, which index m), ranges taken
// from the origin of the plane `pl`.
void cluster_interval(std::span<const Meas> m, std::span<const std::uint32_t> members,
                      const std::vector<std::uint32_t>& mem, const Plane& pl, const double cov[3],
                      const Config& cfg, double& lo, double& hi) {
  lo = -1e300, hi = 1e300;
  for (auto local : mem) {
    const Meas& rep = m[members[local]];
    double ox = 0, oy = 0;
    pl.to_xy(rep.lat, rep.lon, ox, oy);
    const double r = std::sqrt(ox * ox + oy * oy);
    double sr = 0;
    if (r > 1) {
      const double ux = -ox / r, uy = -oy / r;
      sr = std::sqrt(std::max(0.0, ux * ux * cov[0] + uy * uy * cov[1] + 2 * ux * uy * cov[2]));
    }
    sr = std::min(sr, r);
    double a = 0, b = 0;
    detail::event_interval(rep, std::max(0.0, r - 2 * sr), r + 2 * sr, cfg, a, b);
    lo = std::max(lo, a);
    hi = std::min(hi, b);
  }
}

// A cluster: its reports (meas indices, ascending) and, for two or more, the planar fit that priced
// its last merge, where location starts.
struct Group {
  std::vector<std::uint32_t> members;
  std::optional<LatLon> fit;
};

// Aligned to a cache line: the workers' agglomerators are neighbours in a vector, and each writes
// its own buffers' sizes constantly.
class alignas(64) Agglomerator {
 public:
  Agglomerator(std::span<const Meas> m, const Config& cfg) : m_(m), cfg_(cfg) {}

  // members: global meas indices of one component, sorted by (time, index); edges: local pairs.
  // Works on a compact copy of the component's measurements, indexed locally (positions in
  // `members`), and reuses its buffers from one component to the next; returns global indices.
  std::vector<Group> run(std::span<const std::uint32_t> members,
                         std::span<const std::pair<std::uint32_t, std::uint32_t>> edges) {
    const auto n = static_cast<std::uint32_t>(members.size());

    members_ = members;
    if (cl_.size() < n) cl_.resize(n);
    seen_.assign(n, 0);
    stamp_ = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      const Meas& r = m_[members[i]];
      Cluster& c = cl_[i];
      c.mem.assign(1, i);
      c.obs.assign(1, r.observer);
      c.obs_bits = std::uint64_t{1} << (r.observer % 64);
      c.alive = true;
      c.kmask = 1u << r.kind;
      c.fit = detail::single_fit(r);
      c.lnc_sum = r.ln_count;
      c.varc_sum = r.var_count;
      c.pre_lo = r.pre_lo, c.pre_hi = r.pre_hi;
      set_derived(c);
    }
    // Cluster-level candidate links (both ends hold each link, with the same key), each priced
    // with the cheap linearised estimate.
    fits_.clear();
    for (std::uint32_t i = 0; i < n; ++i) cl_[i].links.clear();
    for (auto [a, b] : edges) {
      const double k = price(a, b);
      if (k >= kNever) continue;
      cl_[a].links.push_back({b, kNoFit, k});
      cl_[b].links.push_back({a, kNoFit, k});
    }
    heap_.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
      cl_[i].hpos = UINT32_MAX;
      rescan(i);
    }
    // Lazy greedy over the cheapest link, read from each cluster's record of its best partner
    // (a heap of those records, not of every link): the exact cost (a full fit) of a link is
    // computed when it is the cheapest of all; it is merged at once if it still is, else it keeps
    // its exact cost, with the merged fit in fits_. A merge re-prices the merged cluster's links
    // only, and re-reads the best partner of the clusters whose best partner it was.
    // Every step changes the records of both ends of the top link (a merge, a refusal or an exact
    // cost), so the loop ends.
    while (!heap_.empty()) {
      if (cfg_.cancelled()) break;
      const HeapEntry e = heap_.front();
      const auto a = static_cast<std::uint32_t>(e.ab >> 32), b = static_cast<std::uint32_t>(e.ab);
      if (e.slot != kNoFit) {
        // Exact already, and the cheapest left: both clusters are unchanged since it was priced.
        merge(a, b, fits_[e.slot]);
        continue;
      }
      Fit merged;
      const double c = merge_cost(cl_[a], cl_[b], &merged, true);
      if (c > cfg_.merge_gate) {
        set_link(a, b, kInf, kNoFit);
        continue;
      }
      const auto slot = static_cast<std::uint32_t>(fits_.size());
      fits_.push_back(merged);
      set_link(a, b, c, slot);
      // Merged now unless another link is strictly cheaper than the exact cost. (The former
      // queue of every priced pair compared with its top entry even when that entry was stale:
      // the two differ only when an exact cost equals another link's cost to the last bit, and
      // give byte-identical output on S, M, 100k, 300k and 1M.)
      if (heap_.empty() || !(c > heap_.front().key)) merge(a, b, fits_[slot]);
    }
    std::vector<Group> out;
    for (std::uint32_t i = 0; i < n; ++i) {
      const Cluster& c = cl_[i];
      if (!c.alive) continue;
      Group g;
      g.members.resize(c.mem.size());
      for (std::size_t k = 0; k < c.mem.size(); ++k) g.members[k] = members[c.mem[k]];
      std::sort(g.members.begin(), g.members.end());
      if (c.mem.size() > 1 && c.fit.point) g.fit = LatLon{c.fit.lat, c.fit.lon};
      out.push_back(std::move(g));
    }
    return out;
  }

 private:
  static constexpr std::uint32_t kNoFit = UINT32_MAX;
  static constexpr double kInf = 1e300;    // refused now (may change as the clusters change)
  static constexpr double kNever = 2e300;  // refused for good: the link is dropped

  // A cluster's best partner as a heap entry: (key, pair) orders the links; c is the cluster whose
  // record it is. An indexed binary heap (Cluster::hpos): one entry per cluster, updated in place.
  struct HeapEntry {
    double key;
    std::uint64_t ab;  // (lower cluster << 32) | higher cluster
    std::uint32_t c;
    std::uint32_t slot;  // the link's slot (see Link)
  };
  static bool before(const HeapEntry& x, const HeapEntry& y) {
    return x.key < y.key || (x.key == y.key && x.ab < y.ab);
  }
  void place(std::size_t p, const HeapEntry& e) {
    heap_[p] = e;
    cl_[e.c].hpos = static_cast<std::uint32_t>(p);
  }
  void sift_up(std::size_t p) {
    const HeapEntry e = heap_[p];
    while (p > 0) {
      const std::size_t q = (p - 1) / 2;
      if (!before(e, heap_[q])) break;
      place(p, heap_[q]);
      p = q;
    }
    place(p, e);
  }
  void sift_down(std::size_t p) {
    const HeapEntry e = heap_[p];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t q = 2 * p + 1;
      if (q >= n) break;
      if (q + 1 < n && before(heap_[q + 1], heap_[q])) ++q;
      if (!before(heap_[q], e)) break;
      place(p, heap_[q]);
      p = q;
    }
    place(p, e);
  }
  // Files cluster i's record (or takes it out when it has no partner left or is gone).
  void update(std::uint32_t i) {
    Cluster& c = cl_[i];
    const std::uint32_t p = c.hpos;
    if (c.alive && c.bkey < kInf) {
      const HeapEntry e{c.bkey, c.bab, i, c.bslot};
      if (p == UINT32_MAX) {
        heap_.push_back(e);
        c.hpos = static_cast<std::uint32_t>(heap_.size() - 1);
        sift_up(heap_.size() - 1);
      } else {
        heap_[p] = e;
        sift_up(p);
        sift_down(cl_[i].hpos);
      }
    } else if (p != UINT32_MAX) {
      c.hpos = UINT32_MAX;
      const HeapEntry last = heap_.back();
      heap_.pop_back();
      if (p < heap_.size()) {
        place(p, last);
        sift_up(p);
        sift_down(cl_[last.c].hpos);
      }
    }
  }
  static std::uint64_t pair_id(std::uint32_t a, std::uint32_t b) {
    if (a > b) std::swap(a, b);
    return (static_cast<std::uint64_t>(a) << 32) | b;
  }

  double price(std::uint32_t a, std::uint32_t b) {
    const double c = merge_cost(cl_[a], cl_[b], nullptr, false);
    return c < kInf ? c : c < kNever ? kInf : kNever;
  }

  Link* find_link(std::uint32_t a, std::uint32_t o) {
    for (auto& l : cl_[a].links) {
      if (l.o == o) return &l;
    }
    return nullptr;  // not reached: links are symmetric
  }

  // Re-reads cluster i's best partner from its links and files the record in the heap.
  void rescan(std::uint32_t i) {
    Cluster& c = cl_[i];
    // For a fixed i, the pair order (lower, higher) is the order of the partner.
    double bk = kInf;
    std::uint32_t bo = UINT32_MAX, bs = kNoFit;
    for (const auto& l : c.links) {
      if (l.key < bk || (l.key == bk && l.o < bo)) bk = l.key, bo = l.o, bs = l.slot;
    }
    c.bkey = bk, c.bab = bk < kInf ? pair_id(i, bo) : UINT64_MAX, c.bslot = bs;
    update(i);
  }

  // Sets the key of the link a-b at both ends and re-reads both best partners.
  void set_link(std::uint32_t a, std::uint32_t b, double key, std::uint32_t slot) {
    Link* la = find_link(a, b);
    Link* lb = find_link(b, a);
    la->key = lb->key = key;
    la->slot = lb->slot = slot;
    rescan(a);
    rescan(b);
  }

  // Merges b into a (a < b), re-prices the links of the merged cluster and updates the best
  // partners that change.
  void merge(std::uint32_t a, std::uint32_t b, const Fit& f) {
    absorb(a, b, f);
    update(b);  // gone
    Cluster& A = cl_[a];
    Cluster& B = cl_[b];
    // The clusters either touched, once each (in any order: a best partner is the least (key,
    // partner), whatever the order of the links).
    ++stamp_;
    nb_.clear();
    for (const auto& l : A.links) {
      if (l.o != b) seen_[l.o] = stamp_, nb_.push_back(l.o);
    }
    for (const auto& l : B.links) {
      if (l.o != a && seen_[l.o] != stamp_) seen_[l.o] = stamp_, nb_.push_back(l.o);
    }
    B.links.clear();
    A.links.clear();
    for (auto o : nb_) {
      // A flood's giant cluster has neighbours by the ten thousand: a stopping server does not
      // wait for the merge (the result is discarded, so a half-made merge is no matter).
      if ((++ticks_ & 255) == 0 && cfg_.cancelled()) return;
      const double k = price(a, o);
      Cluster& O = cl_[o];
      // Its links to a and to b become one to the merged a (or none, refused for good).
      bool placed = k >= kNever;
      std::size_t w = 0;
      for (const Link& l : O.links) {
        if (l.o != a && l.o != b) {
          O.links[w++] = l;
        } else if (!placed) {
          O.links[w++] = {a, kNoFit, k};
          placed = true;
        }
      }
      O.links.resize(w);
      if (k < kNever) A.links.push_back({o, kNoFit, k});
      const auto ob_lo = static_cast<std::uint32_t>(O.bab >> 32), ob_hi = static_cast<std::uint32_t>(O.bab);
      if (O.bkey < kInf && (ob_lo == a || ob_lo == b || ob_hi == a || ob_hi == b)) {
        rescan(o);  // its best partner changed
      } else if (k < kInf) {
        const std::uint64_t ab = pair_id(a, o);
        if (k < O.bkey || (k == O.bkey && ab < O.bab)) {
          O.bkey = k, O.bab = ab, O.bslot = kNoFit;
          update(o);
        }
      }
    }
    rescan(a);
  }

  // Cost of merging a and b (1e300 when refused); the merged fit goes to *out when given. Not
  // exact: a linearised estimate from the two fits and their covariances, without a new fit.
  double merge_cost(const Cluster& a, const Cluster& b, Fit* out, bool exact) {
    constexpr double kNo = kInf;
    // Refusals that hold for every pair of supersets of a and b (observers, kinds and pre-gate
    // intervals only accumulate as clusters grow): the two can never merge.
    if ((a.obs_bits & b.obs_bits) != 0 && !disjoint(a.obs, b.obs)) return kNever;
    if (!detail::kinds_explainable(a.kmask | b.kmask)) return kNever;
    if (std::max(a.pre_lo, b.pre_lo) > std::min(a.pre_hi, b.pre_hi)) return kNever;
    // Rounds: both sides heard the same number of rounds, up to each report's noise.
    const double na = static_cast<double>(a.mem.size()), nbm = static_cast<double>(b.mem.size());
    const double dm = a.lnc_sum / na - b.lnc_sum / nbm;
    const double var = a.varc_sum / (na * na) + b.varc_sum / (nbm * nbm);
    const double ccost = std::min(cfg_.count_cost_cap, dm * dm / var);
    if (!exact) {
      // Linearised misfit of the two origins.
      double dx = 0, dy = 0;
      a.plane.to_xy(b.fit.lat, b.fit.lon, dx, dy);
      const double ce = a.cov[0] + b.cov[0], cn = a.cov[1] + b.cov[1], cen = a.cov[2] + b.cov[2];
      const double det = ce * cn - cen * cen;
      const double d2 = det > 0 ? (cn * dx * dx - 2 * cen * dx * dy + ce * dy * dy) / det : 0.0;
      if (d2 > 2 * cfg_.pair_gate) return kNo;
      return std::min(d2, cfg_.merge_gate) + ccost;
    }
    scratch_.clear();
    std::merge(a.mem.begin(), a.mem.end(), b.mem.begin(), b.mem.end(), std::back_inserter(scratch_));
    double slat = 0, slon = 0;
    merged_start(a, b, slat, slon);
    global_.resize(scratch_.size());
    for (std::size_t k = 0; k < scratch_.size(); ++k) global_[k] = members_[scratch_[k]];
    Fit f = detail::fit_planar(m_, global_, slat, slon, cfg_);
    const double dchi = std::max(0.0, f.chi2 - a.fit.chi2 - b.fit.chi2);
    if (dchi > cfg_.merge_gate) return kNo;
    // Time: the intervals of both sides, at the merged origin, must overlap.
    double cov[3] = {1e12, 1e12, 0};
    const double det = f.h[0] * f.h[1] - f.h[2] * f.h[2];
    if (det > 0) cov[0] = f.h[1] / det, cov[1] = f.h[0] / det, cov[2] = -f.h[2] / det;
    double alo = 0, ahi = 0, blo = 0, bhi = 0;
    const Plane pl = Plane::at(f.lat, f.lon);
    f.kx = pl.kx, f.ky = pl.ky;  // the merged cluster's plane, if it merges
    cluster_interval(m_, members_, a.mem, pl, cov, cfg_, alo, ahi);
    cluster_interval(m_, members_, b.mem, pl, cov, cfg_, blo, bhi);
    const double lo = std::max(alo, blo), hi = std::min(ahi, bhi);
    if (hi < lo) return kNo;
    const double wmin = std::max(1.0, std::min(ahi - alo, bhi - blo));
    const double tcost = -2.0 * std::log(std::max(0.5, hi - lo) / wmin);
    const double cost = dchi + std::max(0.0, tcost) + ccost;
    if (out) *out = f;
    return cost <= cfg_.merge_gate ? cost : kNo;
  }

  // Start of the merged fit: the minimum of the two fits' quadratic models (for two bearing-only
  // reports, the crossing of the bearings), which leaves the fit one or two steps to converge; the
  // information-weighted mean of the two origins when that minimum is ill-conditioned or far.
  static void merged_start(const Cluster& ca, const Cluster& cb, double& lat, double& lon) {
    const Fit &a = ca.fit, &b = cb.fit;
    const double wa = a.h[0] + a.h[1], wb = b.h[0] + b.h[1];
    const double w = wa + wb > 0 ? wa / (wa + wb) : 0.5;
    lat = w * a.lat + (1 - w) * b.lat, lon = w * a.lon + (1 - w) * b.lon;
    const Plane& pl = ca.plane;
    double bx = 0, by = 0;
    pl.to_xy(b.lat, b.lon, bx, by);
    const double hee = a.h[0] + b.h[0], hnn = a.h[1] + b.h[1], hen = a.h[2] + b.h[2];
    const double det = hee * hnn - hen * hen;
    if (!(det > 1e-6 * (hee + hnn) * (hee + hnn))) return;
    const double ge = b.h[0] * bx + b.h[2] * by, gn = b.h[2] * bx + b.h[1] * by;
    const double x = (hnn * ge - hen * gn) / det, y = (hee * gn - hen * ge) / det;
    if (x * x + y * y > 16 * (bx * bx + by * by) + 25e6) return;  // beyond 4x their separation + 5 km
    pl.to_ll(x, y, lat, lon);
  }

  void absorb(std::uint32_t a, std::uint32_t b, const Fit& f) {
    Cluster& A = cl_[a];
    Cluster& B = cl_[b];
    scratch_.clear();
    std::merge(A.mem.begin(), A.mem.end(), B.mem.begin(), B.mem.end(), std::back_inserter(scratch_));
    A.mem.assign(scratch_.begin(), scratch_.end());
    scratch_.clear();
    std::merge(A.obs.begin(), A.obs.end(), B.obs.begin(), B.obs.end(), std::back_inserter(scratch_));
    A.obs.assign(scratch_.begin(), scratch_.end());
    A.obs_bits |= B.obs_bits;
    A.kmask |= B.kmask;
    A.fit = f;
    A.lnc_sum += B.lnc_sum;
    A.varc_sum += B.varc_sum;
    A.pre_lo = std::max(A.pre_lo, B.pre_lo), A.pre_hi = std::min(A.pre_hi, B.pre_hi);
    set_derived(A);
    B.alive = false;
    B.mem.clear();
    B.obs.clear();
  }

  std::span<const Meas> m_;
  const Config& cfg_;
  std::span<const std::uint32_t> members_;  // the component's measurements (indices into m_), by local index
  std::vector<std::uint32_t> global_;       // scratch: a merged member list in indices into m_
  std::vector<Cluster> cl_;
  std::vector<std::uint32_t> scratch_;
  std::vector<Fit> fits_;            // merged fits of the exactly priced links
  std::vector<std::uint32_t> nb_;    // scratch: the clusters a merged one touches
  std::vector<std::uint32_t> seen_;  // stamp of the merge that last listed each cluster in nb_
  std::uint32_t stamp_ = 0;
  std::uint32_t ticks_ = 0;      // merge steps, for the cancel check
  std::vector<HeapEntry> heap_;  // best-partner records, cheapest on top
};

// Runs fn(i) for i in [0, n) on `threads` workers.
template <typename Fn>
void parallel_for(std::size_t n, int threads, Fn fn) {
  const auto workers = static_cast<std::size_t>(std::max(1, threads));
  if (workers == 1 || n < 64) {
    for (std::size_t i = 0; i < n; ++i) fn(i, 0);
    return;
  }
  std::atomic<std::size_t> next{0};
  auto work = [&](std::size_t w) {
    for (;;) {
      const std::size_t start = next.fetch_add(64);
      if (start >= n) return;
      for (std::size_t i = start; i < std::min(n, start + 64); ++i) fn(i, w);
    }
  };
  run_parallel(workers, work);
}

}  // namespace

namespace {
// The pair sweep's lists. A pair's projected points are at most sqrt(pair_gate * (trace A + trace
// B)) apart (d2 = D' C^-1 D >= |D|^2 / trace C), so at most the larger of their reaches
// sqrt(2 * pair_gate * trace) apart. A report whose reach is within kStripM (with a margin for
// rounding) goes to the strip of its projected point's latitude, kStripM wide at the smallest
// metres per degree of latitude anywhere (so two such reports in strips two apart are farther
// apart than either reach); the others (a larger reach, anything not finite) go to the wide list.
constexpr double kStripM = 30000.0;
constexpr std::uint32_t kWideList = 1024;  // strips 0..1023 cover every latitude: 180 / 0.2713
std::uint16_t sweep_list(const Meas& r, const Config& cfg) {
  constexpr double kStripDeg = kStripM / 110574.0;  // metres per degree of latitude at the equator, the least
  const double reach2 = 2 * cfg.pair_gate * (r.ce + r.cn) * 1.01 + 1.0;
  const double band = (r.plat + 90.0) / kStripDeg;
  if (r.located && std::isfinite(reach2) && reach2 <= kStripM * kStripM && band >= 0 && band < kWideList &&
      std::isfinite(r.plon) && std::isfinite(r.pkx) && std::isfinite(r.pky) && r.pky >= 110574.0) {
    return static_cast<std::uint16_t>(band);
  }
  return static_cast<std::uint16_t>(kWideList);
}

std::vector<Incident> fuse_reports(std::span<const Report> reports, std::vector<Report>* owned,
                                   const Config& cfg, PhaseTimes* times) {
  auto t0 = std::chrono::steady_clock::now();
  const auto tick = [&](const char* what) {
    if (!times) return;
    const auto t1 = std::chrono::steady_clock::now();
    times->emplace_back(what, std::chrono::duration<double>(t1 - t0).count());
    t0 = t1;
  };
  // The measurement models (~200 bytes each) are built straight into uninitialised memory by the
  // workers: a value-initialised vector would first fault every page in on one thread.
  static_assert(std::is_trivially_copyable_v<Meas> && std::is_trivially_destructible_v<Meas>);
  const std::unique_ptr<Meas[], FreeRaw> mbuf(
      static_cast<Meas*>(::operator new(std::max<std::size_t>(1, reports.size()) * sizeof(Meas))));
  const std::span<Meas> m(mbuf.get(), reports.size());
  // What ordering reads of each model, compact (a pass over the models themselves would read ~200
  // bytes a report, on one thread).
  // With it, the pair sweep's list of each located report (see 1. below).
  struct When {
    std::int64_t t;
    std::uint32_t index;
    std::uint16_t list;
    bool located;
  };
  std::vector<When> when(reports.size());
  parallel_for(reports.size(), cfg.threads, [&](std::size_t i, std::size_t) {
    new (&m[i]) Meas(detail::make_meas(reports[i], cfg));
    when[i] = {m[i].t, m[i].index, sweep_list(m[i], cfg), m[i].located};
  });
  if (owned) {
    owned->clear();
    owned->shrink_to_fit();
  }
  tick("models");
  std::vector<std::uint32_t> order;
  order.reserve(m.size());
  {
    const auto by_time = [&](std::uint32_t a, std::uint32_t b) {
      return std::pair(m[a].t, m[a].index) < std::pair(m[b].t, m[b].index);
    };
    // Files and stores mostly list reports in time order already (checked in the same pass).
    bool sorted = true;
    for (std::uint32_t i = 0; i < m.size(); ++i) {
      if (!when[i].located) continue;
      if (sorted && !order.empty()) {
        const When& p = when[order.back()];
        if (std::pair(when[i].t, when[i].index) < std::pair(p.t, p.index)) sorted = false;
      }
      order.push_back(i);
    }
    if (!sorted) std::sort(order.begin(), order.end(), by_time);
  }

  // 1. Candidate pairs, swept over a compact copy of what the pre-gate reads (the sweep visits every
  //    report within the time window of each one: at high density the largest cost after
  //    clustering). Reports are taken in time order, split into one contiguous range per worker and
  //    the ranges' pairs concatenated in order, so the pairs are the same for any thread count. The
  //    copy is kept list by list (sweep_list(): latitude strips, and the wide reports), each list in
  //    time order; a report is checked against the reports of its own and the neighbouring strips
  //    and against the wide ones (a wide one against all), and its pairs are listed in time order:
  //    the same pairs, in the same order, as checking every report of the window.
  struct SweepRow {
    std::int64_t t;
    std::uint32_t observer;
    std::uint32_t kind_bit, compat;  // 1 << kind; the kinds one true kind explains together with this one
    double pre_lo, pre_hi, plat, plon, kx, ky, ce, cn, cen;  // kx, ky: the local plane at (plat, plon)
  };
  static_assert(std::is_trivially_copyable_v<SweepRow>);
  std::array<std::uint32_t, 9> compat{};
  for (std::uint32_t k = 0; k < compat.size(); ++k) {
    for (std::uint32_t j = 0; j < compat.size(); ++j) {
      if (detail::kinds_explainable((1u << k) | (1u << j))) compat[k] |= 1u << j;
    }
  }
  const std::size_t nl = order.size();  // located reports
  const auto parts = static_cast<std::size_t>(std::max(1, cfg.threads));
  const auto range = [&](std::size_t p) { return std::pair(nl * p / parts, nl * (p + 1) / parts); };
  constexpr std::uint32_t kLists = kWideList + 1;
  // Positions: list by list, and within a list worker range by worker range (time order).
  std::vector<std::vector<std::size_t>> slot(parts, std::vector<std::size_t>(kLists, 0));
  std::vector<std::size_t> list_start(kLists + 1, 0);
  {
    run_parallel(parts, [&](std::size_t p) {
      std::vector<std::size_t> c(kLists, 0);
      for (std::size_t i = range(p).first; i < range(p).second; ++i) ++c[when[order[i]].list];
      slot[p] = std::move(c);
    });
    std::size_t at = 0;
    for (std::uint32_t l = 0; l < kLists; ++l) {
      list_start[l] = at;
      for (std::size_t p = 0; p < parts; ++p) {
        const std::size_t c = slot[p][l];
        slot[p][l] = at, at += c;
      }
    }
    list_start[kLists] = at;
  }
  // Not zeroed: the workers fill every row.
  std::unique_ptr<SweepRow[]> rows(new SweepRow[std::max<std::size_t>(1, nl)]);
  std::vector<std::uint32_t> row_of(nl), time_of(nl);  // time position <-> position in rows
  run_parallel(parts, [&](std::size_t p) {
    auto& f = slot[p];
    for (std::size_t i = range(p).first; i < range(p).second; ++i) {
      const Meas& r = m[order[i]];
      const std::size_t at = f[when[order[i]].list]++;
      rows[at] = {r.t,      r.observer, 1u << r.kind, r.kind < compat.size() ? compat[r.kind] : 0u,
                  r.pre_lo, r.pre_hi,   r.plat,       r.plon,
                  r.pkx,    r.pky,      r.ce,         r.cn,
                  r.cen};
      row_of[i] = static_cast<std::uint32_t>(at);
      time_of[at] = static_cast<std::uint32_t>(i);
    }
  });
  // Lists in use: the strips from the first to the last non-empty one.
  std::uint32_t first_strip = 0, end_strip = 0;
  for (std::uint32_t l = 0; l < kWideList; ++l) {
    if (list_start[l + 1] > list_start[l]) {
      if (end_strip == 0) first_strip = l;
      end_strip = l + 1;
    }
  }
  // A report's pre-gate interval starts at most delay_cap + slack before its reported time, so once
  // a later report's time is that far past the end of A's interval, it and every later report
  // start after A's interval ends: A has no pair beyond it (this ends most sweeps well within
  // Config::pair_window_s(), which bounds the reported times of a pair).
  const double lead = cfg.delay_cap_s + cfg.time_slack_s;
  auto sweep = [&](std::size_t from, std::size_t to,
                   std::vector<std::pair<std::uint32_t, std::uint32_t>>& result) {
    // A list of its own, moved into place at the end (the workers' lists are neighbours in memory:
    // appending to them in place would share cache lines between the threads).
    std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
    std::vector<std::uint32_t> found;  // the current report's partners (time positions)
    std::vector<double> found_d2;      // and their pre-gate distances
    std::vector<std::uint32_t> pick;
    std::vector<std::size_t> next(list_start.begin(),
                                  list_start.end() - 1);  // per list: first entry after it
    // The entries of list l after time position ai, within the window of A.
    auto scan = [&](std::uint32_t l, const SweepRow& A, const Plane& pl, double last, std::size_t ai) {
      std::size_t k = next[l];
      const std::size_t end = list_start[l + 1];
      while (k < end && time_of[k] <= ai) ++k;
      next[l] = k;
      for (; k < end; ++k) {
        const SweepRow& B = rows[k];
        if (static_cast<double>(B.t) > last) break;
        if (A.observer == B.observer) continue;
        if (A.pre_hi < B.pre_lo || B.pre_hi < A.pre_lo) continue;
        if (!(B.compat & A.kind_bit)) continue;
        double dx = 0, dy = 0;
        pl.to_xy(B.plat, B.plon, dx, dy);
        const double ce = A.ce + B.ce, cn = A.cn + B.cn, cen = A.cen + B.cen;
        const double det = ce * cn - cen * cen;
        // d2 = q / det > gate, without the division (det > 0)
        const double q = cn * dx * dx - 2 * cen * dx * dy + ce * dy * dy;
        if (!(det > 0) || q > cfg.pair_gate * det) continue;
        found.push_back(time_of[k]);
        found_d2.push_back(q / det);
      }
    };
    for (std::size_t ai = from; ai < to; ++ai) {
      if (cfg.cancelled()) break;  // a relaxed load per report: nothing beside its sweep
      const SweepRow& A = rows[row_of[ai]];
      const Plane pl{A.plat, A.plon, A.kx, A.ky};  // Plane::at(A.plat, A.plon)
      const double last = A.pre_hi + lead;
      found.clear();
      found_d2.clear();
      const std::uint32_t l = when[order[ai]].list;
      const std::uint32_t lo = l == kWideList ? first_strip : std::max(first_strip, l == 0 ? 0 : l - 1);
      const std::uint32_t hi = l == kWideList ? end_strip : std::min(end_strip, l + 2);
      for (std::uint32_t o = lo; o < hi; ++o) scan(o, A, pl, last, ai);
      scan(kWideList, A, pl, last, ai);
      if (found.size() > cfg.max_pairs_per_report) {
        // A flood of reports that all pre-gate with each other (bearing-only reports by the
        // thousand in one minute) would make pairs by the square of their number: each report
        // keeps its nearest later partners only (ties by time), a choice made from the reports
        // themselves, so any superset of a group's window chooses alike.
        pick.resize(found.size());
        for (std::uint32_t i = 0; i < pick.size(); ++i) pick[i] = i;
        const auto nearer = [&](std::uint32_t x, std::uint32_t y) {
          return found_d2[x] < found_d2[y] || (found_d2[x] == found_d2[y] && found[x] < found[y]);
        };
        std::nth_element(pick.begin(), pick.begin() + static_cast<std::ptrdiff_t>(cfg.max_pairs_per_report),
                         pick.end(), nearer);
        pick.resize(cfg.max_pairs_per_report);
        for (std::uint32_t i = 0; i < pick.size(); ++i) pick[i] = found[pick[i]];
        found.swap(pick);
      }
      std::sort(found.begin(), found.end());
      for (auto bi : found) out.emplace_back(order[ai], order[bi]);
    }
    result = std::move(out);
  };
  tick("prepare");
  // The pairs, in order: the pieces' lists one after the other.
  std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> edges(parts);
  run_parallel(parts, [&](std::size_t p) { sweep(range(p).first, range(p).second, edges[p]); });
  tick("pairs");
  rows.reset();
  when.clear();
  when.shrink_to_fit();
  for (auto* v : {&row_of, &time_of}) {
    v->clear();
    v->shrink_to_fit();
  }
  UnionFind uf(m.size());
  std::size_t nedges = 0;
  for (const auto& part : edges) {
    nedges += part.size();
    for (auto [a, b] : part) uf.unite(a, b);
  }

  // 2. Components, numbered in order of their first report, each listed in (time, index) order,
  //    with their pairs in local indices: flat arrays with an offset per component.
  std::vector<std::uint32_t> comp_of(m.size(), UINT32_MAX);
  std::vector<std::uint32_t> comp_start(1, 0);  // sizes first, then offsets
  for (auto i : order) {
    const std::uint32_t root = uf.find(i);
    if (comp_of[root] == UINT32_MAX) {
      comp_of[root] = static_cast<std::uint32_t>(comp_start.size() - 1);
      comp_start.push_back(0);
    }
    comp_of[i] = comp_of[root];
    ++comp_start[comp_of[i] + 1];
  }
  const std::size_t ncomp = comp_start.size() - 1;
  for (std::size_t c = 0; c < ncomp; ++c) comp_start[c + 1] += comp_start[c];
  std::vector<std::uint32_t> comp_mem(order.size()), local(m.size(), 0);
  {
    std::vector<std::uint32_t> fill(comp_start.begin(), comp_start.end() - 1);
    for (auto i : order) {
      const std::uint32_t c = comp_of[i];
      local[i] = fill[c] - comp_start[c];
      comp_mem[fill[c]++] = i;
    }
  }
  std::vector<std::uint32_t> edge_start(ncomp + 1, 0);
  for (const auto& part : edges) {
    for (auto [a, b] : part) ++edge_start[comp_of[a] + 1];
  }
  for (std::size_t c = 0; c < ncomp; ++c) edge_start[c + 1] += edge_start[c];
  auto comp_edges = make_prefaulted<std::pair<std::uint32_t, std::uint32_t>>(nedges, cfg.threads);
  {
    std::vector<std::uint32_t> fill(edge_start.begin(), edge_start.end() - 1);
    for (auto& part : edges) {
      for (auto [a, b] : part) comp_edges[fill[comp_of[a]]++] = {local[a], local[b]};
      part.clear();
      part.shrink_to_fit();
    }
  }
  const auto members_of = [&](std::size_t c) {
    return std::span<const std::uint32_t>(comp_mem.data() + comp_start[c], comp_start[c + 1] - comp_start[c]);
  };

  tick("components");
  // 3. Clusters per component, in parallel (each component is independent).
  std::vector<std::vector<Group>> comp_clusters(ncomp);
  {
    const int nthreads = std::max(1, cfg.threads);
    std::vector<Agglomerator> workers;
    for (int w = 0; w < nthreads; ++w) workers.emplace_back(m, cfg);
    const auto focused = [&](std::size_t c) {
      if (!cfg.focus) return true;
      for (auto i : members_of(c)) {
        if ((*cfg.focus)[i]) return true;
      }
      return false;
    };
    parallel_for(ncomp, nthreads, [&](std::size_t c, std::size_t w) {
      const auto mem = members_of(c);
      if (!focused(c)) return;  // left out: no clusters
      if (mem.size() == 1 || cfg.cancelled()) {
        comp_clusters[c] = {Group{{mem.front()}, std::nullopt}};
        return;
      }
      comp_clusters[c] = workers[w].run(
          mem, std::span(comp_edges.data() + edge_start[c], edge_start[c + 1] - edge_start[c]));
    });
  }
  tick("clusters");
  std::vector<Group> clusters;
  std::vector<std::pair<std::int64_t, std::int64_t>> group_span;
  {
    std::size_t n = m.size() - order.size();  // the unlocated reports
    for (const auto& cc : comp_clusters) n += cc.size();
    reserve_prefaulted(clusters, n, cfg.threads);
    reserve_prefaulted(group_span, n, cfg.threads);
  }
  for (std::size_t c = 0; c < ncomp; ++c) {
    const auto mem = members_of(c);
    const std::pair<std::int64_t, std::int64_t> span(m[mem.front()].t, m[mem.back()].t);
    for (auto& cl : comp_clusters[c]) {
      clusters.push_back(std::move(cl));
      group_span.push_back(span);
    }
  }
  for (std::uint32_t i = 0; i < m.size(); ++i) {
    if (!m[i].located && (!cfg.focus || (*cfg.focus)[i])) {
      clusters.push_back(Group{{i}, std::nullopt});
      group_span.emplace_back(m[i].t, m[i].t);
    }
  }

  // 4. Locate every cluster on the ellipsoid.
  // The incidents are then sorted by (start_s, first member): a total order (a report is in one
  // incident only). Each worker files its incidents' keys; the keys are sorted, then the incidents
  // moved into place along the permutation's cycles.
  struct Key {
    std::int64_t start;
    std::uint32_t first, at;
  };
  auto out = make_prefaulted<Incident>(clusters.size(), cfg.threads);
  std::vector<Key> keys(out.size());
  parallel_for(clusters.size(), cfg.threads, [&](std::size_t c, std::size_t) {
    thread_local std::vector<Meas> group;
    group.clear();
    for (auto i : clusters[c].members) group.push_back(m[i]);
    out[c] = detail::locate(group, cfg, clusters[c].fit ? &*clusters[c].fit : nullptr);
    out[c].group_first_s = group_span[c].first;
    out[c].group_last_s = group_span[c].second;
    keys[c] = {out[c].start_s, out[c].members.front(), static_cast<std::uint32_t>(c)};
  });
  tick("locate");
  {
    std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
      return a.start < b.start || (a.start == b.start && a.first < b.first);
    });
    // Position p takes the incident at keys[p].at.
    for (std::size_t p = 0; p < keys.size(); ++p) {
      if (keys[p].at == p || keys[p].at == UINT32_MAX) continue;
      Incident held = std::move(out[p]);
      std::size_t q = p;
      while (keys[q].at != p) {
        const std::size_t from = keys[q].at;
        out[q] = std::move(out[from]);
        keys[q].at = UINT32_MAX;
        q = from;
      }
      out[q] = std::move(held);
      keys[q].at = UINT32_MAX;
    }
  }
  tick("order");
  return out;
}
}  // namespace

std::vector<Incident> fuse(std::span<const Report> reports, const Config& cfg, PhaseTimes* times) {
  return fuse_reports(reports, nullptr, cfg, times);
}

std::vector<Incident> fuse(std::vector<Report>&& reports, const Config& cfg, PhaseTimes* times) {
  return fuse_reports(reports, &reports, cfg, times);
}

}  // namespace truce::fusion
