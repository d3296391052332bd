// decision_writer: records served decisions from a thread of its own: in the
// state store, each write taking every decision queued meanwhile (group
// commit), then in the decision log. A request awaits its decision's write,
// so it is still answered only once the decision is stored, while its HTTP
// thread serves others.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <memory>
#include <string>

#include "core/message_sink.h"
#include "core/result.h"
#include "engine/pending_decision.h"
#include "state/store.h"

namespace prometheus {
class Registry;
}

namespace marquee::serve {

class decision_writer {
public:
    using signature = void(core::result<void>);

    // Starts the thread. `log` (may be null) receives each stored decision's
    // log message, keyed by user. Registers marquee_decision_write_batch_size
    // and counts what cannot be recorded in marquee_decision_log_errors_total
    // (stage="store": not stored; stage="log": stored, its message refused).
    decision_writer(state::store& store, prometheus::Registry& registry, core::message_sink* log);
    // Writes and completes everything queued, then joins.
    ~decision_writer();

    // Stores `decision` under `id`, sends `log_message` (unless empty) to
    // the log, then completes with the store write's result on the token's
    // associated executor. That executor also carries the writer's wake-up
    // (see enqueue); while it is not running, puts wait for the writer's
    // 10 ms fallback wake-up instead.
    template <class Token>
    auto async_put(std::string id, engine::pending_decision decision, std::string log_message, Token&& token) {
        return boost::asio::async_initiate<Token, signature>(
            [this](auto handler, std::string id, engine::pending_decision decision, std::string log_message) {
                // Keeps the handler's io_context running until it completes.
                boost::asio::any_io_executor work = boost::asio::prefer(
                    boost::asio::get_associated_executor(handler), boost::asio::execution::outstanding_work.tracked);
                enqueue({std::move(id), std::move(decision), std::move(log_message), std::move(handler),
                         std::move(work)});
            },
            token, std::move(id), std::move(decision), std::move(log_message));
    }

private:
    struct entry {
        std::string id;
        engine::pending_decision decision;
        std::string log_message;
        boost::asio::any_completion_handler<signature> done;
        boost::asio::any_io_executor work;
    };

    void enqueue(entry e);

    struct impl;
    std::shared_ptr<impl> impl_;  // shared with the wake-ups enqueue posts
};

}  // namespace marquee::serve
