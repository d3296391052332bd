#include "stream/stream_fixtures.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

namespace marquee::testing {

void produce_raw(const std::string& bootstrap, const std::string& topic,
                 const std::vector<std::pair<std::string, std::string>>& key_values) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("message.max.bytes", "2000000", err);
    conf->set("linger.ms", "1", err);
    std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
    ASSERT_TRUE(p) << err;
    for (const auto& [k, v] : key_values) {
        for (;;) {
            auto e = p->produce(topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                                const_cast<char*>(v.data()), v.size(), k.data(), k.size(), 0, nullptr);
            if (e == RdKafka::ERR_NO_ERROR) break;
            ASSERT_EQ(e, RdKafka::ERR__QUEUE_FULL) << RdKafka::err2str(e);
            p->poll(10);
        }
        p->poll(0);
    }
    ASSERT_EQ(p->flush(30000), RdKafka::ERR_NO_ERROR);
}

void produce_events(const std::string& bootstrap, const std::string& topic, const std::vector<events::event>& evs) {
    std::vector<std::pair<std::string, std::string>> kv;
    kv.reserve(evs.size());
    for (const auto& e : evs) kv.emplace_back(e.user_id, events::encode_json(e));
    produce_raw(bootstrap, topic, kv);
}

std::int64_t group_committed(const std::string& bootstrap, const std::string& group, const std::string& topic,
                             int partitions) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("group.id", group, err);  // only reads the group's offsets: never joins it
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!c) return -1;
    std::vector<RdKafka::TopicPartition*> list;
    for (int p = 0; p < partitions; ++p) list.push_back(RdKafka::TopicPartition::create(topic, p));
    std::int64_t sum = c->committed(list, 5000) == RdKafka::ERR_NO_ERROR ? 0 : -1;
    for (auto* tp : list) {
        if (sum >= 0 && tp->offset() >= 0) sum += tp->offset();
        delete tp;
    }
    c->close();
    return sum;
}

std::int64_t end_offsets(const std::string& bootstrap, const std::string& topic, int partitions) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("group.id", "test-watermarks", err);  // never joins: only asks for watermarks
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    if (!c) return -1;
    std::int64_t sum = 0;
    for (int p = 0; p < partitions && sum >= 0; ++p) {
        std::int64_t low = 0, high = 0;
        if (c->query_watermark_offsets(topic, p, &low, &high, 5000) != RdKafka::ERR_NO_ERROR) sum = -1;
        else sum += high;
    }
    c->close();
    return sum;
}

std::vector<consumed> consume_all(const std::string& bootstrap, const std::string& topic, std::size_t expected,
                                  std::chrono::milliseconds timeout, const std::function<bool(const consumed&)>& until) {
    std::string err;
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    conf->set("bootstrap.servers", bootstrap, err);
    conf->set("group.id", "test-reader-" + std::to_string(std::random_device{}()), err);
    conf->set("auto.offset.reset", "earliest", err);
    conf->set("enable.auto.commit", "false", err);
    std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
    std::vector<consumed> out;
    if (!c) {
        ADD_FAILURE() << err;
        return out;
    }
    c->subscribe({topic});
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t matched = 0;
    while (matched < expected && std::chrono::steady_clock::now() < deadline) {
        std::unique_ptr<RdKafka::Message> m(c->consume(100));
        if (m->err() != RdKafka::ERR_NO_ERROR) continue;
        consumed r;
        if (m->key()) r.key = *m->key();
        r.value.assign(static_cast<const char*>(m->payload()), m->len());
        r.partition = m->partition();
        if (auto* hs = m->headers())
            for (const auto& h : hs->get_all())
                r.headers[h.key()] = std::string(static_cast<const char*>(h.value()), h.value_size());
        if (!until || until(r)) ++matched;
        out.push_back(std::move(r));
    }
    c->close();
    return out;
}

double metric_sum(prometheus::Registry& registry, const std::string& name, const std::string& label,
                  const std::string& value) {
    double total = 0;
    for (const auto& family : registry.Collect()) {
        if (family.name != name) continue;
        for (const auto& m : family.metric) {
            bool match = label.empty();
            for (const auto& l : m.label)
                if (l.name == label && l.value == value) match = true;
            if (!match) continue;
            total += family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
        }
    }
    return total;
}

double metric_with(prometheus::Registry& registry, const std::string& name,
                   const std::map<std::string, std::string>& labels) {
    double total = 0;
    for (const auto& family : registry.Collect()) {
        if (family.name != name) continue;
        for (const auto& m : family.metric) {
            std::size_t matched = 0;
            for (const auto& l : m.label)
                if (auto it = labels.find(l.name); it != labels.end() && it->second == l.value) ++matched;
            if (matched != labels.size()) continue;
            total += family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
        }
    }
    return total;
}

std::pair<double, std::uint64_t> histogram_totals(const prometheus::Registry& registry, const std::string& name) {
    for (const auto& family : registry.Collect())
        if (family.name == name)
            return {family.metric.at(0).histogram.sample_sum, family.metric.at(0).histogram.sample_count};
    return {0.0, 0};
}

std::vector<events::event> synthetic_events(int users, int items, int count, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> user(0, users - 1);
    // Zipf-like: item popularity falls off with its index.
    std::vector<double> weights(static_cast<std::size_t>(items));
    for (int i = 0; i < items; ++i) weights[std::size_t(i)] = 1.0 / (1.0 + i);
    std::discrete_distribution<int> item(weights.begin(), weights.end());
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const events::event_type types[] = {events::event_type::watch, events::event_type::rating, events::event_type::like,
                                        events::event_type::click, events::event_type::impression,
                                        events::event_type::skip, events::event_type::dislike};
    std::discrete_distribution<int> type({40, 20, 10, 10, 10, 5, 5});
    std::vector<events::event> out;
    out.reserve(std::size_t(count));
    for (int i = 0; i < count; ++i) {
        events::event e;
        e.type = types[type(rng)];
        e.user_id = "u" + std::to_string(user(rng));
        e.item_id = "m" + std::to_string(item(rng));
        e.ts_ms = 1'700'000'000'000 + i * 1000;
        if (e.type == events::event_type::watch) e.value = unit(rng);
        if (e.type == events::event_type::rating) e.value = 0.5 * (1 + int(unit(rng) * 10));
        out.push_back(std::move(e));
    }
    return out;
}

void create_engine_topics(stream::embedded_broker& broker, int partitions, bool with_items) {
    for (const char* t : {"marquee.events", "marquee.decisions", "marquee.events.dlq"}) broker.create_topic(t, partitions);
    if (with_items) broker.create_topic("marquee.items", partitions);
}

app::config engine_config(const std::string& bootstrap, const std::string& data_dir) {
    app::config c;
    c.kafka.brokers = bootstrap;
    c.state.path = data_dir;
    c.http.port = 0;
    c.model.mf.dim = 16;
    c.kafka.consumer_defaults["session.timeout.ms"] = "6000";
    c.kafka.consumer_defaults["heartbeat.interval.ms"] = "500";
    return c;
}

tally count_by_user(const std::vector<events::event>& evs) {
    tally t;
    for (const auto& e : evs) t[e.user_id][std::size_t(e.type)] += 1;
    return t;
}

}  // namespace marquee::testing
