#include "connzfixture.h"
#include "connzparser.h"
#include "xid.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QTest>

using namespace ResWatch;

namespace {

QList<QByteArray> cidsOf(const MonitorClient &client)
{
    QList<QByteArray> out;
    for (const CompactId &id : client.connectionIds)
        out.append(id.toByteArray());
    return out;
}

const MonitorClient *findClient(const ConnzPage &page, quint64 cid)
{
    for (const MonitorClient &c : page.clients) {
        if (c.cid == cid)
            return &c;
    }
    return nullptr;
}

QList<QByteArray> xids(int count, quint32 seconds = 1'796'396'000)
{
    QList<QByteArray> out;
    out.reserve(count);
    for (int i = 0; i < count; ++i) {
        Xid x;
        x.seconds = seconds;
        x.machine = 0xabcdef;
        x.pid = 42;
        x.counter = quint32(i);
        out.append(x.toString());
    }
    return out;
}

} // namespace

class TestConnzParser : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void captures_data();
    void captures();
    void captureDetails();
    void subjects_data();
    void subjects();
    void times_data();
    void times();
    void badInput_data();
    void badInput();
    void systemAnswer();
    void systemAnswerError();
    void varz();
    void sizes_data();
    void sizes();
    void paging();
    void largeGatewayIsFast();
};

void TestConnzParser::captures_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QList<QByteArray>>("gatewayCids");
    QTest::newRow("raw client open") << "connz-rawopen.json" << QList<QByteArray> { "dc9dgltqmd2ttjddp3d0" };
    QTest::newRow("resclient open") << "connz-clientopen.json"
                                    << QList<QByteArray> { "dc9dgu5qmd2ttjddp3dg" };
    QTest::newRow("after close") << "connz-afterclose.json" << QList<QByteArray> {};
}

void TestConnzParser::captures()
{
    QFETCH(QString, file);
    QFETCH(QList<QByteArray>, gatewayCids);
    const QByteArray json = ConnzFixture::capture(file);
    QVERIFY(!json.isEmpty());
    ConnzPage page;
    QString error;
    QVERIFY2(ConnzParser::parse(json, &page, &error), qPrintable(error));
    QCOMPARE(page.serverId, QByteArray("NCCOVSOGOQ3LNLBMADXGZB3TH7RUF4L5MZ2KBUXHNTGPWP4QXTVP26G4"));
    QCOMPARE(page.total, 3);
    QCOMPARE(page.offset, 0);
    QCOMPARE(page.limit, 1024);
    QCOMPARE(int(page.clients.size()), 3);
    QVERIFY(!page.hasMore());
    // Stock Resgate is NATS client 7; the sniffer (">") and the service ("access.>") are not gateways.
    const MonitorClient *resgate = findClient(page, 7);
    QVERIFY(resgate);
    QCOMPARE(cidsOf(*resgate), gatewayCids);
    QCOMPARE(findClient(page, 4)->isGateway(), false);
    QCOMPARE(findClient(page, 5)->isGateway(), false);
    QCOMPARE(findClient(page, 5)->name, QByteArray("authsvc"));
}

void TestConnzParser::captureDetails()
{
    ConnzPage page;
    QString error;
    QVERIFY(
        ConnzParser::parse(ConnzFixture::capture(QStringLiteral("connz-clientopen.json")), &page, &error));
    const MonitorClient *resgate = findClient(page, 7);
    QCOMPARE(resgate->ip, QByteArray("127.0.0.1"));
    QCOMPARE(resgate->port, 32904);
    QCOMPARE(resgate->name, QByteArray()); // stock Resgate names no NATS connection
    QCOMPARE(resgate->subscriptionCount, 3);
    QCOMPARE(resgate->startMs,
             QDateTime::fromString(QStringLiteral("2026-12-04T15:12:21.141Z"), Qt::ISODateWithMs)
                 .toMSecsSinceEpoch());
    QCOMPARE(page.nowMs,
             QDateTime::fromString(QStringLiteral("2026-12-04T15:12:58.453Z"), Qt::ISODateWithMs)
                 .toMSecsSinceEpoch());
    // The README: this cid decodes to the moment it connected.
    QCOMPARE(Xid::parse("dc9dgu5qmd2ttjddp3dg")->timeMs(),
             QDateTime::fromString(QStringLiteral("2026-12-04T15:12:56Z"), Qt::ISODate).toMSecsSinceEpoch());
}

void TestConnzParser::subjects_data()
{
    QTest::addColumn<QByteArray>("subject");
    QTest::addColumn<QByteArray>("cid");
    QTest::newRow("xid") << QByteArray("conn.dc9dgu5qmd2ttjddp3dg.*") << QByteArray("dc9dgu5qmd2ttjddp3dg");
    QTest::newRow("any token") << QByteArray("conn.abc.*") << QByteArray("abc");
    QTest::newRow("observer") << QByteArray("conn.*.token") << QByteArray();
    QTest::newRow("wildcard cid") << QByteArray("conn.*.*") << QByteArray();
    QTest::newRow("full wildcard") << QByteArray("conn.>.*") << QByteArray();
    QTest::newRow("tracker") << QByteArray("conn.>") << QByteArray();
    QTest::newRow("one event") << QByteArray("conn.abc.token") << QByteArray();
    QTest::newRow("two tokens") << QByteArray("conn.a.b.*") << QByteArray();
    QTest::newRow("empty cid") << QByteArray("conn..*") << QByteArray();
    QTest::newRow("other") << QByteArray("system.*") << QByteArray();
    QTest::newRow("prefix") << QByteArray("xconn.abc.*") << QByteArray();
}

void TestConnzParser::subjects()
{
    QFETCH(QByteArray, subject);
    QFETCH(QByteArray, cid);
    QCOMPARE(ConnzParser::connectionIdOfSubject(subject).toByteArray(), cid);
}

void TestConnzParser::times_data()
{
    QTest::addColumn<QByteArray>("text");
    QTest::addColumn<qint64>("ms");
    QTest::newRow("nanoseconds") << QByteArray("2026-12-04T15:12:19.133252503Z") << qint64(1796397139133);
    QTest::newRow("seconds") << QByteArray("2026-12-04T15:12:19Z") << qint64(1796397139000);
    QTest::newRow("epoch") << QByteArray("1970-01-01T00:00:00Z") << qint64(0);
    QTest::newRow("leap day") << QByteArray("2024-02-29T12:00:00.5Z") << qint64(1709208000500);
    QTest::newRow("offset") << QByteArray("2026-12-04T16:12:19+01:00") << qint64(1796397139000);
    QTest::newRow("no zone") << QByteArray("2026-12-04T15:12:19") << qint64(-1);
    QTest::newRow("garbage") << QByteArray("yesterday") << qint64(-1);
    QTest::newRow("bad month") << QByteArray("2026-13-04T15:12:19Z") << qint64(-1);
    QTest::newRow("trailing") << QByteArray("2026-12-04T15:12:19Zx") << qint64(-1);
}

void TestConnzParser::times()
{
    QFETCH(QByteArray, text);
    QFETCH(qint64, ms);
    QCOMPARE(ConnzParser::parseTimeMs(text), ms);
    if (ms >= 0)
        QCOMPARE(ms, QDateTime::fromString(QString::fromLatin1(text), Qt::ISODateWithMs).toMSecsSinceEpoch());
}

void TestConnzParser::badInput_data()
{
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("errorPart");
    const QByteArray good = ConnzFixture::capture(QStringLiteral("connz-clientopen.json"));
    QTest::newRow("empty") << QByteArray() << "not JSON";
    QTest::newRow("truncated") << good.left(good.size() / 2) << "not JSON";
    QTest::newRow("html") << QByteArray("<html><body>404 page not found</body></html>") << "not JSON";
    QTest::newRow("nats protocol") << QByteArray("INFO {\"server_id\":\"x\"}\r\n") << "not JSON";
    QTest::newRow("array") << QByteArray("[1,2]") << "not a JSON object";
    QTest::newRow("varz") << QByteArray("{\"server_id\":\"x\",\"server_name\":\"n\"}")
                          << "no \"connections\"";
    QTest::newRow("no server id") << QByteArray("{\"connections\":[]}") << "no \"server_id\"";
    QTest::newRow("connection not object")
        << QByteArray("{\"server_id\":\"x\",\"connections\":[1]}") << "cid";
    QTest::newRow("connection without cid")
        << QByteArray("{\"server_id\":\"x\",\"connections\":[{\"ip\":\"1.2.3.4\"}]}") << "cid";
    QTest::newRow("string cid") << QByteArray("{\"server_id\":\"x\",\"connections\":[{\"cid\":\"7\"}]}")
                                << "cid";
    QTest::newRow("negative offset") << QByteArray("{\"server_id\":\"x\",\"offset\":-1,\"connections\":[]}")
                                     << "negative";
}

void TestConnzParser::badInput()
{
    QFETCH(QByteArray, json);
    QFETCH(QString, errorPart);
    ConnzPage page;
    page.total = 99;
    QString error;
    QVERIFY(!ConnzParser::parse(json, &page, &error));
    QVERIFY2(error.contains(errorPart), qPrintable(error));
}

void TestConnzParser::systemAnswer()
{
    const std::vector<ConnzFixture::Client> clients { ConnzFixture::gateway(12, { "aaa", "bbb" }) };
    const QByteArray json
        = ConnzFixture::systemAnswer("n2", "NID2", ConnzFixture::page(clients, 0, 1024, "NID2"));
    ConnzPage page;
    QString error;
    QVERIFY2(ConnzParser::parse(json, &page, &error), qPrintable(error));
    QCOMPARE(page.serverName, QByteArray("n2"));
    QCOMPARE(page.serverId, QByteArray("NID2"));
    QCOMPARE(int(page.clients.size()), 1);
    QCOMPARE(cidsOf(page.clients[0]), (QList<QByteArray> { "aaa", "bbb" }));
}

void TestConnzParser::systemAnswerError()
{
    ConnzPage page;
    QString error;
    QVERIFY(!ConnzParser::parse(
        "{\"server\":{\"name\":\"n3\",\"id\":\"X\"},\"error\":{\"code\":500,\"description\":\"boom\"}}",
        &page, &error));
    QVERIFY2(error.contains(QLatin1String("n3")) && error.contains(QLatin1String("boom")), qPrintable(error));
}

void TestConnzParser::varz()
{
    QCOMPARE(ConnzParser::parseServerName("{\"server_id\":\"X\",\"server_name\":\"node-1\",\"port\":4222}"),
             QByteArray("node-1"));
    QCOMPARE(ConnzParser::parseServerName("{\"server_id\":\"X\"}"), QByteArray());
    QCOMPARE(ConnzParser::parseServerName("<html>"), QByteArray());
}

void TestConnzParser::sizes_data()
{
    QTest::addColumn<int>("subscriptions");
    QTest::newRow("0") << 0;
    QTest::newRow("1") << 1;
    QTest::newRow("5000") << 5000;
}

void TestConnzParser::sizes()
{
    QFETCH(int, subscriptions);
    const QList<QByteArray> ids = xids(subscriptions);
    std::vector<ConnzFixture::Client> clients { ConnzFixture::gateway(3, ids) };
    ConnzFixture::Client service;
    service.cid = 4;
    service.subjects = { "access.>", "auth.demo.login" };
    clients.push_back(service);
    ConnzPage page;
    QString error;
    QVERIFY2(ConnzParser::parse(ConnzFixture::page(clients), &page, &error), qPrintable(error));
    QCOMPARE(int(page.clients.size()), 2);
    QCOMPARE(cidsOf(page.clients[0]), ids);
    QCOMPARE(page.clients[0].subscriptionCount, subscriptions + 1);
    QCOMPARE(page.clients[0].isGateway(), subscriptions > 0);
    QCOMPARE(page.clients[1].isGateway(), false);
}

void TestConnzParser::paging()
{
    // 2,500 NATS clients, 3 pages of 1,024: every client read once, in order.
    std::vector<ConnzFixture::Client> clients;
    for (int i = 0; i < 2500; ++i)
        clients.push_back(ConnzFixture::gateway(quint64(i + 1), { "c" + QByteArray::number(i) }, 30000 + i));
    QList<quint64> seen;
    qint64 offset = 0;
    int pages = 0;
    for (;;) {
        ConnzPage page;
        QString error;
        QVERIFY2(ConnzParser::parse(ConnzFixture::page(clients, offset, 1024), &page, &error),
                 qPrintable(error));
        ++pages;
        QCOMPARE(page.offset, offset);
        QCOMPARE(page.total, 2500);
        for (const MonitorClient &c : page.clients) {
            seen.append(c.cid);
            QCOMPARE(cidsOf(c), QList<QByteArray> { "c" + QByteArray::number(c.cid - 1) });
            QCOMPARE(c.port, 30000 + int(c.cid) - 1);
        }
        if (!page.hasMore())
            break;
        offset += qint64(page.clients.size());
    }
    QCOMPARE(pages, 3);
    QCOMPARE(seen.size(), 2500);
    for (int i = 0; i < seen.size(); ++i)
        QCOMPARE(seen[i], quint64(i + 1));

    // A page past the end is empty and has no successor.
    ConnzPage past;
    QString error;
    QVERIFY(ConnzParser::parse(ConnzFixture::page(clients, 3000, 1024), &past, &error));
    QVERIFY(past.clients.empty());
    QVERIFY(!past.hasMore());
}

void TestConnzParser::largeGatewayIsFast()
{
    // 100,000 subscriptions in one page (4 MB of JSON).
    std::vector<ConnzFixture::Client> clients;
    for (int g = 0; g < 4; ++g)
        clients.push_back(ConnzFixture::gateway(quint64(g + 1), xids(25000, 1'796'396'000 + quint32(g))));
    const QByteArray json = ConnzFixture::page(clients);
    ConnzPage page;
    QString error;
    QElapsedTimer timer;
    timer.start();
    QVERIFY(ConnzParser::parse(json, &page, &error));
    const qint64 elapsed = timer.elapsed();
    qDebug() << json.size() / 1024 << "KiB parsed in" << elapsed << "ms";
    size_t total = 0;
    for (const MonitorClient &c : page.clients)
        total += c.connectionIds.size();
    QCOMPARE(total, size_t(100000));
    QVERIFY2(elapsed < 1000, qPrintable(QString::number(elapsed))); // ~40 ms on the CI machine
}

QTEST_GUILESS_MAIN(TestConnzParser)
#include "tst_connzparser.moc"
