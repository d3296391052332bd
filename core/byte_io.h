// byte_io: the versioned binary records of the state store, written and read
// field by field (trivially copyable values in host byte order, and strings
// with a u32 length). A reader reports truncation instead of reading past.
// Also: 64-bit integers in keys whose byte order is their numeric order.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace marquee::core {

class byte_writer {
public:
    template <class T>
    void put(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        out_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    void put_bytes(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
    void put_string(std::string_view s) {
        put(std::uint32_t(s.size()));
        out_.append(s);
    }
    void reserve(std::size_t n) { out_.reserve(n); }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class byte_reader {
public:
    explicit byte_reader(std::string_view in) : in_(in) {}
    template <class T>
    bool get(T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        return get_bytes(&v, sizeof v);
    }
    bool get_bytes(void* p, std::size_t n) {
        if (in_.size() < n) return false;
        if (n > 0) std::memcpy(p, in_.data(), n);  // an empty vector's data() may be null
        in_.remove_prefix(n);
        return true;
    }
    bool get_string(std::string& s) {
        std::uint32_t n = 0;
        if (!get(n) || in_.size() < n) return false;
        s.assign(in_.substr(0, n));
        in_.remove_prefix(n);
        return true;
    }
    std::size_t remaining() const { return in_.size(); }
    bool done() const { return in_.empty(); }

private:
    std::string_view in_;
};

// Appends v big-endian with the sign bit flipped, so that keys compare
// (bytewise, as RocksDB's default comparator does) in numeric order.
inline void append_ordered(std::string& key, std::int64_t v) {
    const auto u = std::uint64_t(v) ^ (std::uint64_t(1) << 63);
    for (int shift = 56; shift >= 0; shift -= 8) key.push_back(char((u >> shift) & 0xff));
}

// The value append_ordered wrote at p (8 bytes).
inline std::int64_t read_ordered(const char* p) {
    std::uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | std::uint8_t(p[i]);
    return std::int64_t(u ^ (std::uint64_t(1) << 63));
}

}  // namespace marquee::core
