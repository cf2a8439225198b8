#pragma once

#include "reswatchcore_export.h"

#include <QByteArray>
#include <QHashFunctions>
#include <QLatin1String>

#include <cstring>

namespace ResWatch {

/**
 * An identifier (cid, gid) stored inline when it has at most 22 bytes, which
 * every xid (20 characters) does; longer ones go to the heap. Saves the 60-odd
 * bytes a QByteArray allocation costs per connection.
 */
class RESWATCH_CORE_EXPORT CompactId
{
public:
    CompactId()
    {
        m_inline.size = 0;
        m_inline.onHeap = false;
    }
    explicit CompactId(QByteArrayView bytes) { assign(bytes); }
    CompactId(const CompactId &other) { assign(other.view()); }
    CompactId &operator=(const CompactId &other)
    {
        if (this != &other) {
            release();
            assign(other.view());
        }
        return *this;
    }
    ~CompactId() { release(); }

    QByteArrayView view() const
    {
        return isOnHeap() ? QByteArrayView(m_heap.data, m_heap.size)
                          : QByteArrayView(m_inline.data, m_inline.size);
    }
    QByteArray toByteArray() const { return view().toByteArray(); }
    QString toString() const { return QString::fromLatin1(view().data(), view().size()); }
    bool isEmpty() const { return view().isEmpty(); }

    friend bool operator==(const CompactId &a, const CompactId &b) { return a.view() == b.view(); }
    friend bool operator!=(const CompactId &a, const CompactId &b) { return !(a == b); }
    friend size_t qHash(const CompactId &id, size_t seed = 0) { return qHash(id.view(), seed); }

private:
    static constexpr int InlineCapacity = 22;
    bool isOnHeap() const { return m_inline.onHeap; }
    void assign(QByteArrayView bytes)
    {
        if (bytes.size() <= InlineCapacity) {
            std::memcpy(m_inline.data, bytes.data(), size_t(bytes.size()));
            m_inline.size = quint8(bytes.size());
            m_inline.onHeap = false;
        } else {
            m_heap.data = new char[size_t(bytes.size())];
            std::memcpy(m_heap.data, bytes.data(), size_t(bytes.size()));
            m_heap.size = bytes.size();
            m_inline.onHeap = true;
        }
    }
    void release()
    {
        if (isOnHeap())
            delete[] m_heap.data;
        m_inline.onHeap = false;
        m_inline.size = 0;
    }

    // The last byte (onHeap) overlays the same position in both layouts.
    union {
        struct
        {
            char data[InlineCapacity];
            quint8 size;
            bool onHeap;
        } m_inline;
        struct
        {
            char *data;
            qsizetype size;
            char pad[7];
            bool onHeapSameByte;
        } m_heap;
    };
};
static_assert(sizeof(CompactId) == 24);

} // namespace ResWatch
