// put_raw: writes one record into a closed store's RocksDB behind its back,
// as an older build or a damaged file would leave it (for corruption tests).
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <string>
#include <vector>

namespace marquee::testing {

// `family`: a column family of state::store ("default" holds its metadata).
inline void put_raw(const std::string& path, const std::string& family, const std::string& key,
                    const std::string& value) {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name : {"default", "users", "items", "bandit", "decisions", "offsets", "covisit",
                             "decision_index", "rank"})
        families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), path, families, &handles, &raw).ok());
    for (std::size_t i = 0; i < families.size(); ++i)
        if (families[i].name == family) {
            EXPECT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[i], key, value).ok());
        }
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
}

}  // namespace marquee::testing
