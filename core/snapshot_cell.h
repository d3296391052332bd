// snapshot_cell<T>: one writer publishes immutable versions of T; any number
// of readers load the current one without blocking on the writer's work.
// Thread-safe. A reader keeps its version alive for as long as it holds it.
#pragma once

#include <memory>
#include <mutex>

namespace marquee::core {

template <class T>
class snapshot_cell {
public:
    std::shared_ptr<const T> load() const {
        // The lock covers a pointer copy only, never the writer's build.
        std::lock_guard lock(mutex_);
        return current_;
    }

    void store(std::shared_ptr<const T> next) {
        std::lock_guard lock(mutex_);
        current_.swap(next);
        // `next` (the old version) is released outside readers' way here or
        // by the last reader still holding it.
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> current_;
};

}  // namespace marquee::core
