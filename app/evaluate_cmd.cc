#include "app/evaluate_cmd.h"

#include <spdlog/spdlog.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/config.h"
#include "evaluation/bandit_replay.h"
#include "evaluation/new_release_sim.h"
#include "evaluation/prequential.h"
#include "events/movielens.h"

extern char** environ;

namespace marquee::app {

namespace {

// Settings shared by evaluate subcommands: the same configuration keys as
// `marquee run` (model.*, retrieval.*), so a tuned value means the same thing.
struct model_flags {
    std::string config_file;
    std::vector<std::string> sets;

    void add_to(CLI::App& cmd) {
        cmd.add_option("-c,--config", config_file, "TOML configuration file")->check(CLI::ExistingFile);
        cmd.add_option("--set", sets, "Override a setting: key=value (repeatable), e.g. model.dim=64");
    }
    config build() const {
        config c;
        if (!config_file.empty()) apply_toml_file(c, config_file);
        apply_environment(c, environ);
        for (const auto& kv : sets) {
            auto eq = kv.find('=');
            if (eq == std::string::npos) throw std::invalid_argument("--set expects key=value, got '" + kv + "'");
            set(c, kv.substr(0, eq), kv.substr(eq + 1));
        }
        return c;
    }
};

// A one-line progress bar on stderr, drawn only when stderr is a terminal
// (logs and CI output stay clean). Redraws at most ~10 times a second.
class progress_bar {
public:
    explicit progress_bar(std::string label) : label_(std::move(label)), enabled_(isatty(2) == 1) {}
    ~progress_bar() { finish(); }

    void update(std::size_t done, std::size_t total) {
        if (!enabled_ || total == 0) return;
        const auto now = std::chrono::steady_clock::now();
        if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        const double frac = double(done) / double(total);
        const int width = 40, filled = int(frac * width);
        const double secs = std::chrono::duration<double>(now - start_).count();
        const double eta = frac > 0 ? secs * (1 - frac) / frac : 0;
        std::fprintf(stderr, "\r%s [%.*s%*s] %5.1f%% %zu/%zu  %.1fs elapsed, ~%.1fs left ", label_.c_str(), filled,
                     "########################################", width - filled, "", 100 * frac, done, total, secs,
                     eta);
        std::fflush(stderr);
        drawn_ = true;
    }
    void finish() {
        if (drawn_) std::fputc('\n', stderr);
        drawn_ = false;
    }

private:
    std::string label_;
    bool enabled_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_{};
};

// Runs `args` (PATH lookup, no shell) and waits: its exit code, or -1 if it
// could not be started (e.g. not installed).
int run_program(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// A file to write, or the start-up error naming it.
std::ofstream open_output(const std::string& path) {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot write " + path);
    return out;
}

// gnuplot settings shared by every plot: a PNG beside <prefix>.tsv.
void write_plot_header(std::ostream& gp, const std::string& prefix, int height, std::string_view xlabel) {
    gp << "set terminal pngcairo size 1100," << height << " noenhanced\n"
       << "set output '" << prefix << ".png'\n"
       << "set datafile separator '\\t'\n"
       << "set key outside right top\n"
       << "set grid\n"
       << "set xlabel '" << xlabel << "'\n";
}

void write_curve_files(const evaluation::prequential_report& r, const std::string& prefix, int k) {
    using evaluation::method_count;
    using evaluation::method_names;
    auto csv = open_output(prefix + ".csv");
    csv << "events,method,window_cases,hr_window,ndcg_window,cases,hr,ndcg\n";
    for (const auto& p : r.curve)
        for (std::size_t m = 0; m < method_count; ++m)
            csv << p.events << ',' << method_names[m] << ',' << p.window[m].cases << ',' << p.window[m].hit_rate()
                << ',' << p.window[m].ndcg() << ',' << p.cumulative[m].cases << ',' << p.cumulative[m].hit_rate()
                << ',' << p.cumulative[m].ndcg() << '\n';

    // Wide TSV for gnuplot: events, then HR and NDCG per method (windowed).
    auto tsv = open_output(prefix + ".tsv");
    tsv << "events";
    for (auto name : method_names) tsv << '\t' << name << "_hr\t" << name << "_ndcg";
    tsv << '\n';
    for (const auto& p : r.curve) {
        tsv << p.events;
        for (std::size_t m = 0; m < method_count; ++m) tsv << '\t' << p.window[m].hit_rate() << '\t' << p.window[m].ndcg();
        tsv << '\n';
    }
    auto gp = open_output(prefix + ".gp");
    write_plot_header(gp, prefix, 800, "events applied");
    gp << "set multiplot layout 2,1 title 'Prequential (test-then-train), per window of events'\n";
    for (int metric = 0; metric < 2; ++metric) {
        gp << "set ylabel '" << (metric == 0 ? "HR@" : "NDCG@") << k << "'\n";
        gp << "plot ";
        for (std::size_t m = 0; m < method_count; ++m)
            gp << (m ? ", " : "") << "'" << prefix << ".tsv' using 1:" << 2 + 2 * m + metric
               << " with linespoints title '" << method_names[m] << "'";
        gp << '\n';
    }
    gp << "unset multiplot\n";
}

// Runs <prefix>.gp through gnuplot into <prefix>.png, saying what happened.
void draw_plot(const std::string& prefix) {
    std::printf("\nwrote %s.csv, %s.tsv, %s.gp\n", prefix.c_str(), prefix.c_str(), prefix.c_str());
    const int rc = run_program({"gnuplot", prefix + ".gp"});
    if (rc == -1)
        std::printf("gnuplot not found: no plot drawn (install gnuplot-nox, then run: gnuplot %s.gp)\n", prefix.c_str());
    else if (rc != 0)
        std::printf("gnuplot failed (exit %d): no plot drawn\n", rc);
    else
        std::printf("wrote %s.png\n", prefix.c_str());
}

// Cumulative replay and IPS estimates per policy over the logged decisions.
void write_bandit_curves(const evaluation::bandit_replay_report& r, const std::string& prefix, bool replay) {
    auto csv = open_output(prefix + ".csv");
    csv << "decisions,policy,replay_mean_reward,ips_estimate\n";
    for (const auto& p : r.policies)
        for (const auto& c : p.curve) csv << c.decisions << ',' << p.name << ',' << c.replay << ',' << c.ips << '\n';
    auto tsv = open_output(prefix + ".tsv");
    tsv << "decisions";
    for (const auto& p : r.policies) tsv << '\t' << p.name;
    tsv << '\n';
    const std::size_t points = r.policies.empty() ? 0 : r.policies.front().curve.size();
    for (std::size_t i = 0; i < points; ++i) {
        tsv << r.policies.front().curve[i].decisions;
        for (const auto& p : r.policies) tsv << '\t' << (replay ? p.curve[i].replay : p.curve[i].ips);
        tsv << '\n';
    }
    auto gp = open_output(prefix + ".gp");
    write_plot_header(gp, prefix, 600, "logged decisions");
    gp << "set ylabel '" << (replay ? "replay mean reward so far" : "IPS estimate so far") << "'\n"
       << "set title '" << (replay ? "Replay (Li et al. 2011)" : "Inverse propensity scoring")
       << ": cumulative reward per policy'\n"
       << "plot ";
    for (std::size_t p = 0; p < r.policies.size(); ++p)
        gp << (p ? ", " : "") << "'" << prefix << ".tsv' using 1:" << p + 2 << " with lines lw 2 title '"
           << r.policies[p].name << "'";
    gp << '\n';
}

struct prequential_flags {
    model_flags model;
    std::string data;
    std::string out = "prequential";
    int k = 10;
    double min_rating = 4.0;
    std::size_t limit = 0;
    std::size_t curve_every = 5000;
    std::uint64_t seed = 7;
};

// The first `limit` ratings (0: all) of a MovieLens ratings.csv, in time order.
std::vector<events::event> load_ratings(const std::string& path, std::size_t limit) {
    auto stream = events::load_movielens_ratings(path, limit);
    if (!stream) throw std::runtime_error(stream.error().message);
    return std::move(stream).value();
}

int run_prequential_cmd(const prequential_flags& f) {
    const config cfg = f.model.build();
    auto all = load_ratings(f.data, f.limit);

    evaluation::prequential_options o;
    o.model = cfg.model;
    o.k = f.k;
    o.min_rating = f.min_rating;
    o.curve_every = f.curve_every;
    o.seed = f.seed;
    o.union_embedding_n = cfg.api.recommend.retrieval_n;
    o.union_popular_n = std::max(cfg.api.recommend.popular_n, f.k);
    o.union_new_release_n = cfg.api.recommend.new_release_n;
    o.union_covisit_n = std::max(cfg.api.recommend.covisit_n, f.k);
    o.covisit_history_n = cfg.api.recommend.covisit_history_n;

    const auto started = std::chrono::steady_clock::now();
    evaluation::prequential_report r;
    {
        progress_bar bar("prequential");
        r = evaluation::run_prequential(all, o, [&bar](std::size_t done, std::size_t total) { bar.update(done, total); });
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    std::printf("prequential evaluation of %s: %zu events, %llu test cases (rating >= %.1f), %.1f s\n",
                f.data.c_str(), r.events, (unsigned long long)r.total[0].cases, f.min_rating, secs);
    std::printf("model: dim=%d lr=%g l2=%g negatives=%d seed=%llu\n", o.model.mf.dim, o.model.mf.learning_rate,
                o.model.mf.l2, o.model.mf.negatives, (unsigned long long)o.model.mf.seed);
    std::printf("\n| method | HR@%d | NDCG@%d |\n|---|---|---|\n", f.k, f.k);
    for (std::size_t m = 0; m < evaluation::method_count; ++m)
        std::printf("| %s | %.4f | %.4f |\n", std::string(evaluation::method_names[m]).c_str(), r.total[m].hit_rate(),
                    r.total[m].ndcg());
    std::printf("\nunion candidate set: %.1f items on average, recall %.4f\n", r.union_candidates_mean,
                r.union_recall.hit_rate());
    std::printf("cases with an item never seen before (unhittable): %llu; with a user not yet embedded: %llu\n",
                (unsigned long long)r.unseen_item_cases, (unsigned long long)r.cold_user_cases);

    write_curve_files(r, f.out, f.k);
    draw_plot(f.out);
    return 0;
}

// Wraps a subcommand body: exceptions become a message and exit code 2.
template <class F>
auto guarded(F body) {
    return [body = std::move(body)] {
        int rc = 0;
        try {
            rc = body();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "marquee: %s\n", e.what());
            rc = 2;
        }
        if (rc != 0) throw CLI::RuntimeError(rc);
    };
}

void add_prequential(CLI::App& evaluate) {
    auto f = std::make_shared<prequential_flags>();
    auto* cmd = evaluate.add_subcommand(
        "prequential", "Test-then-train over a MovieLens ratings.csv in time order: HR@k and NDCG@k per method");
    f->model.add_to(*cmd);
    cmd->add_option("--data", f->data, "MovieLens ratings.csv")->required()->check(CLI::ExistingFile);
    cmd->add_option("--out", f->out, "Output prefix: <out>.csv, <out>.tsv, <out>.gp, <out>.png")->capture_default_str();
    cmd->add_option("-k,--k", f->k, "List length scored")->capture_default_str()->check(CLI::Range(1, 1000));
    cmd->add_option("--min-rating", f->min_rating, "Ratings at least this are test cases")->capture_default_str();
    cmd->add_option("--limit", f->limit, "Use only the first N events in time order (0: all)");
    cmd->add_option("--curve-every", f->curve_every, "Events per point of the metric curve")->capture_default_str();
    cmd->add_option("--seed", f->seed, "Seed of the random baseline")->capture_default_str();
    cmd->callback(guarded([f] { return run_prequential_cmd(*f); }));
}

// `evaluate replay` and `evaluate ope`: the bandit policies on a ratings
// stream turned into uniform-random logged decisions (evaluation/bandit_replay.h).
struct bandit_flags {
    model_flags model;
    std::string data;
    int arms = 10;
    double like_rating = 4.0;
    std::size_t limit = 0;
    std::uint64_t seed = 7;
    std::string out;
};

void print_estimate(const char* name, const bandits::ope_estimate& e) {
    if (std::isnan(e.value)) std::printf(" %s undefined |", name);
    else if (std::isnan(e.lower)) std::printf(" %s %.4f [undefined] |", name, e.value);
    else std::printf(" %s %.4f [%.4f, %.4f] |", name, e.value, e.lower, e.upper);
}

int run_bandit_cmd(const bandit_flags& f, bool replay) {
    const config cfg = f.model.build();
    auto all = load_ratings(f.data, f.limit);

    evaluation::bandit_replay_options o;
    o.arms = f.arms;
    o.like_rating = f.like_rating;
    o.seed = f.seed;
    o.linucb = cfg.model.bandit;
    o.epsilon = cfg.api.recommend.slate.epsilon;
    o.new_release_days = cfg.model.new_release_days;
    const auto started = std::chrono::steady_clock::now();
    evaluation::bandit_replay_report r;
    {
        progress_bar bar(replay ? "replay" : "ope");
        r = evaluation::run_bandit_replay(all, o, [&bar](std::size_t done, std::size_t total) { bar.update(done, total); });
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("%s of %s: %zu ratings, %zu uniform-random logged decisions over K=%d candidates, %.1f s\n",
                replay ? "replay" : "off-policy evaluation", f.data.c_str(), r.events, r.decisions, o.arms, secs);
    std::printf("reward 1 when the logged pick is the rated item and rating >= %.1f; logged (uniform) mean %.4f\n",
                o.like_rating, r.logged_reward);
    std::printf("bandit: alpha=%g lambda=%g epsilon=%g; 95%% intervals\n\n", o.linucb.alpha, o.linucb.lambda, o.epsilon);
    if (replay) {
        std::printf("| policy | replay mean reward [95%% CI] | matched decisions |\n|---|---|---|\n");
        for (const auto& p : r.policies) {
            std::printf("| %s |", p.name.c_str());
            print_estimate("", p.replay);
            std::printf(" %zu |\n", p.replay.n);
        }
    } else {
        std::printf("| policy | IPS [95%% CI] | SNIPS [95%% CI] | DR [95%% CI] | effective n |\n|---|---|---|---|---|\n");
        for (const auto& p : r.policies) {
            std::printf("| %s |", p.name.c_str());
            print_estimate("", p.ips);
            print_estimate("", p.snips);
            print_estimate("", p.doubly_robust);
            std::printf(" %.0f |\n", p.ips.effective_sample_size);
        }
    }
    write_bandit_curves(r, f.out, replay);
    draw_plot(f.out);
    return 0;
}

void add_bandit_evaluations(CLI::App& evaluate) {
    for (bool replay : {true, false}) {
        auto f = std::make_shared<bandit_flags>();
        auto* cmd = evaluate.add_subcommand(
            replay ? "replay" : "ope",
            replay ? "Replay (Li et al. 2011) of every bandit policy on a MovieLens ratings.csv turned into uniform-random logs"
                   : "IPS, SNIPS and doubly robust estimates of every bandit policy on the same uniform-random logs");
        f->model.add_to(*cmd);
        cmd->add_option("--data", f->data, "MovieLens ratings.csv")->required()->check(CLI::ExistingFile);
        cmd->add_option("--arms", f->arms, "Candidates per decision (the rated item + others)")
            ->capture_default_str()
            ->check(CLI::Range(2, 1000));
        cmd->add_option("--like-rating", f->like_rating, "Rating at which a pick of the rated item earns 1")
            ->capture_default_str();
        cmd->add_option("--limit", f->limit, "Use only the first N events in time order (0: all)");
        cmd->add_option("--seed", f->seed, "Seed of candidates, logging and exploration")->capture_default_str();
        f->out = replay ? "replay" : "ope";
        cmd->add_option("--out", f->out, "Output prefix: <out>.csv, <out>.tsv, <out>.gp, <out>.png")
            ->capture_default_str();
        cmd->callback(guarded([f, replay] { return run_bandit_cmd(*f, replay); }));
    }
}

// `evaluate new-releases`: the exploration knobs on and off over the same
// simulated stream (evaluation/new_release_sim.h).
struct new_release_flags {
    model_flags model;
    std::string data;
    std::size_t limit = 0;
    int impressions = 5;
    double weight = 3.0;
    double floor = 5.0;
    double window_hours = 2.0;
};

int run_new_release_cmd(const new_release_flags& f) {
    const config cfg = f.model.build();
    auto all = load_ratings(f.data, f.limit);
    evaluation::new_release_sim_options base;
    base.model = cfg.model;
    // One rating per simulated second: a release is "new" for window_hours.
    base.model.new_release_days = f.window_hours / 24.0;
    base.recommend = cfg.api.recommend;
    base.recommend.slate.new_release.max_age_days = base.model.new_release_days;
    base.impressions = f.impressions;
    struct arm {
        const char* name;
        evaluation::new_release_sim_options options;
    };
    std::vector<arm> arms = {{"knobs off", base}, {"exploration weight", base}, {"weight + exposure floor", base}};
    arms[0].options.recommend.slate.new_release.exploration_weight = 1.0;
    arms[0].options.recommend.exposure_floor.min_impressions_per_hour = 0.0;
    arms[1].options.recommend.slate.new_release.exploration_weight = f.weight;
    arms[1].options.recommend.exposure_floor.min_impressions_per_hour = 0.0;
    arms[2].options.recommend.slate.new_release.exploration_weight = f.weight;
    arms[2].options.recommend.exposure_floor.min_impressions_per_hour = f.floor;

    std::printf("new-release simulation on %s: %zu ratings replayed at 1 request/s, k=%d, policy %s, epsilon %g\n",
                f.data.c_str(), all.size(), base.k, std::string(bandits::to_string(base.recommend.slate.policy)).c_str(),
                base.recommend.slate.epsilon);
    std::printf("releases: items first rated after the first %.0f%% of the stream; new for %.1f h; N = %d; "
                "weight %g; floor %g/h\n\n",
                base.warmup * 100, f.window_hours, f.impressions, f.weight, f.floor);
    std::printf("| knobs | reward per shown item | release impressions | reward per release impression | "
                "releases reaching N | median s to N | p90 s to N | floor insertions |\n"
                "|---|---|---|---|---|---|---|---|\n");
    for (const auto& a : arms) {
        evaluation::new_release_sim_report r;
        {
            progress_bar bar(a.name);
            r = evaluation::run_new_release_sim(all, a.options,
                                                [&bar](std::size_t done, std::size_t total) { bar.update(done, total); });
        }
        std::printf("| %s | %.4f | %zu | %.4f | %zu / %zu | %.0f | %.0f | %zu |\n", a.name, r.reward_rate,
                    r.release_impressions, r.release_reward_rate, r.releases_reaching_n, r.releases,
                    r.median_seconds_to_n, r.p90_seconds_to_n, r.forced);
        std::fflush(stdout);
    }
    return 0;
}

void add_new_release_simulation(CLI::App& evaluate) {
    auto f = std::make_shared<new_release_flags>();
    auto* cmd = evaluate.add_subcommand(
        "new-releases", "Simulate the new-release exploration knobs (off, weight, weight + exposure floor) on MovieLens");
    f->model.add_to(*cmd);
    cmd->add_option("--data", f->data, "MovieLens ratings.csv")->required()->check(CLI::ExistingFile);
    cmd->add_option("--limit", f->limit, "Use only the first N events in time order (0: all)");
    // The ranges bandit.new_release_weight, bandit.exposure_floor_per_hour
    // and model.new_release_days allow.
    cmd->add_option("--impressions", f->impressions, "N in time to first N impressions")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--weight", f->weight, "Exploration weight of the knobs-on arms")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--floor", f->floor, "Exposure floor (impressions per hour) of the last arm")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--window-hours", f->window_hours, "How long a release counts as new (simulated hours)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->callback(guarded([f] { return run_new_release_cmd(*f); }));
}

}  // namespace

void add_evaluate_commands(CLI::App& cli) {
    auto* evaluate = cli.add_subcommand("evaluate", "Offline evaluation of the models");
    evaluate->require_subcommand(1);
    add_prequential(*evaluate);
    add_bandit_evaluations(*evaluate);
    add_new_release_simulation(*evaluate);
}

}  // namespace marquee::app
