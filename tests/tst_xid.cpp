#include "xid.h"

#include <QDateTime>
#include <QSet>
#include <QTest>

#include <thread>
#include <vector>

using namespace ResWatch;

class TestXid : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void decode_data();
    void decode();
    void roundTrip_data();
    void roundTrip();
    void invalid_data();
    void invalid();
    void generatorIdsAreUnique();
    void generatorIdsAreUniqueAcrossThreads();
    void generatorCounterIncrements();
    void generatorTimeIsNow();
};

// The cids stock Resgate v1.8.0 issued in the captures of /work/shared/captures/resgate-v1.8.0:
// the same process for the first two (one counter step apart), a restarted one for the third.
void TestXid::decode_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<QString>("time");
    QTest::addColumn<quint32>("machine");
    QTest::addColumn<int>("pid");
    QTest::addColumn<quint32>("counter");

    QTest::newRow("resclient session")
        << QByteArray("dc9dgu5qmd2ttjddp3dg") << QStringLiteral("2026-12-04T15:12:56Z") << quint32(0xbab345)
        << 57037 << quint32(11389147);
    QTest::newRow("raw websocket") << QByteArray("dc9dgltqmd2ttjddp3d0")
                                   << QStringLiteral("2026-12-04T15:12:23Z") << quint32(0xbab345) << 57037
                                   << quint32(11389146);
    QTest::newRow("after restart") << QByteArray("dc9dh2tqmd2toe6536tg")
                                   << QStringLiteral("2026-12-04T15:13:15Z") << quint32(0xbab345) << 56376
                                   << quint32(12917179);
    QTest::newRow("zero") << QByteArray("00000000000000000000") << QStringLiteral("1970-01-01T00:00:00Z")
                          << quint32(0) << 0 << quint32(0);
    QTest::newRow("all ones") << QByteArray("vvvvvvvvvvvvvvvvvvvg") << QStringLiteral("2106-02-07T06:28:15Z")
                              << quint32(0xffffff) << 0xffff << quint32(0xffffff);
}

void TestXid::decode()
{
    QFETCH(QByteArray, text);
    QFETCH(QString, time);
    QFETCH(quint32, machine);
    QFETCH(int, pid);
    QFETCH(quint32, counter);

    const std::optional<Xid> id = Xid::parse(text);
    QVERIFY(id.has_value());
    QCOMPARE(QDateTime::fromMSecsSinceEpoch(id->timeMs(), Qt::UTC).toString(Qt::ISODate), time);
    QCOMPARE(id->machine, machine);
    QCOMPARE(int(id->pid), pid);
    QCOMPARE(id->counter, counter);
    QCOMPARE(id->toString(), text);
}

void TestXid::roundTrip_data()
{
    QTest::addColumn<quint32>("seconds");
    QTest::addColumn<quint32>("machine");
    QTest::addColumn<int>("pid");
    QTest::addColumn<quint32>("counter");

    QTest::newRow("typical") << quint32(1796397176) << quint32(0x123456) << 4242 << quint32(0xabcdef);
    QTest::newRow("one bit each") << quint32(1) << quint32(1) << 1 << quint32(1);
    QTest::newRow("high bits") << quint32(0x80000000) << quint32(0x800000) << 0x8000 << quint32(0x800000);
    QTest::newRow("mixed") << quint32(0xdeadbeef) << quint32(0x0f0f0f) << 0xf0f0 << quint32(0x5a5a5a);
}

void TestXid::roundTrip()
{
    Xid id;
    QFETCH(quint32, seconds);
    QFETCH(quint32, machine);
    QFETCH(int, pid);
    QFETCH(quint32, counter);
    id.seconds = seconds;
    id.machine = machine;
    id.pid = quint16(pid);
    id.counter = counter;

    const QByteArray text = id.toString();
    QCOMPARE(text.size(), 20);
    for (const char c : text)
        QVERIFY2((c >= '0' && c <= '9') || (c >= 'a' && c <= 'v'), text.constData());
    const std::optional<Xid> back = Xid::parse(text);
    QVERIFY(back.has_value());
    QCOMPARE(back->seconds, seconds);
    QCOMPARE(back->machine, machine);
    QCOMPARE(int(back->pid), pid);
    QCOMPARE(back->counter, counter);
}

void TestXid::invalid_data()
{
    QTest::addColumn<QByteArray>("text");

    QTest::newRow("empty") << QByteArray();
    QTest::newRow("19 characters") << QByteArray("dc9dgu5qmd2ttjddp3d");
    QTest::newRow("21 characters") << QByteArray("dc9dgu5qmd2ttjddp3dg0");
    QTest::newRow("uppercase") << QByteArray("DC9DGU5QMD2TTJDDP3DG");
    QTest::newRow("w is beyond base32hex") << QByteArray("dc9dgu5qmd2ttjddp3dw");
    QTest::newRow("z") << QByteArray("zc9dgu5qmd2ttjddp3dg");
    QTest::newRow("dash") << QByteArray("dc9dgu5qmd-ttjddp3dg");
    QTest::newRow("space") << QByteArray("dc9dgu5qmd ttjddp3dg");
    QTest::newRow("NUL") << QByteArray("dc9dgu5qmd\0ttjddp3dg", 20);
    QTest::newRow("padding") << QByteArray("dc9dgu5qmd2ttjddp3d=");
    QTest::newRow("non-zero unused bits: 1") << QByteArray("dc9dgu5qmd2ttjddp3d1");
    QTest::newRow("non-zero unused bits: h") << QByteArray("dc9dgu5qmd2ttjddp3dh");
    QTest::newRow("non-zero unused bits: v") << QByteArray("dc9dgu5qmd2ttjddp3dv");
    QTest::newRow("high byte") << QByteArray("dc9dgu5qmd2ttjddp3d\xe9");
}

void TestXid::invalid()
{
    QFETCH(QByteArray, text);
    QVERIFY(!Xid::parse(text).has_value());
}

void TestXid::generatorIdsAreUnique()
{
    XidGenerator generator;
    QSet<QByteArray> seen;
    constexpr int Count = 100000;
    seen.reserve(Count);
    for (int i = 0; i < Count; ++i) {
        const QByteArray id = generator.next();
        QVERIFY(Xid::parse(id).has_value());
        seen.insert(id);
    }
    QCOMPARE(seen.size(), Count);
}

void TestXid::generatorIdsAreUniqueAcrossThreads()
{
    XidGenerator generator;
    constexpr int Threads = 4;
    constexpr int PerThread = 25000;
    std::vector<std::vector<QByteArray>> results(Threads);
    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back([&, t] {
            results[size_t(t)].reserve(PerThread);
            for (int i = 0; i < PerThread; ++i)
                results[size_t(t)].push_back(generator.next());
        });
    }
    for (std::thread &thread : threads)
        thread.join();
    QSet<QByteArray> seen;
    for (const auto &ids : results)
        for (const QByteArray &id : ids)
            seen.insert(id);
    QCOMPARE(seen.size(), Threads * PerThread);
}

void TestXid::generatorCounterIncrements()
{
    XidGenerator generator;
    const Xid first = generator.nextId();
    const Xid second = generator.nextId();
    const Xid third = *Xid::parse(generator.next());
    QCOMPARE(second.counter, (first.counter + 1) & 0xffffff);
    QCOMPARE(third.counter, (first.counter + 2) & 0xffffff);
    QCOMPARE(second.machine, first.machine);
    QCOMPARE(second.pid, first.pid);
    QCOMPARE(first.machine, generator.machine());
    QCOMPARE(first.pid, generator.pid());
    QVERIFY(first.machine <= 0xffffff);

    // Another generator in the same process identifies the same machine and process.
    XidGenerator other;
    QCOMPARE(other.machine(), generator.machine());
    QCOMPARE(other.pid(), generator.pid());

    QCOMPARE(generator.nextId(1796397176).seconds, quint32(1796397176));
}

void TestXid::generatorTimeIsNow()
{
    XidGenerator generator;
    const qint64 before = QDateTime::currentSecsSinceEpoch();
    const std::optional<Xid> id = Xid::parse(generator.next());
    const qint64 after = QDateTime::currentSecsSinceEpoch();
    QVERIFY(id.has_value());
    QVERIFY(qint64(id->seconds) >= before);
    QVERIFY(qint64(id->seconds) <= after);
}

QTEST_GUILESS_MAIN(TestXid)
#include "tst_xid.moc"
