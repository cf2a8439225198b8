#include "clock.h"
#include "csvexporter.h"
#include "csvwriter.h"
#include "protocol.h"
#include "tracker.h"
#include "xid.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

using namespace ResWatch;

namespace {

struct Spec
{
    QByteArray cid;
    QString gid;
    QByteArray token;
    ConnectionState state = ConnectionState::Live;
    qint64 connectedAtMs = 1796397176000; // 2026-12-04T15:12:56.000Z
    QByteArray tid;
    QByteArray remoteAddr;
};

Spec spec(const char *cid, const QString &gid, const QByteArray &token)
{
    Spec s;
    s.cid = cid;
    s.gid = gid;
    s.token = token;
    return s;
}

Connection connectionOf(const Spec &s)
{
    Connection c;
    c.cid = CompactId(s.cid);
    c.token = s.token;
    c.state = s.state;
    c.connectedAtMs = s.connectedAtMs;
    if (!s.tid.isEmpty() || !s.remoteAddr.isEmpty()) {
        auto details = std::make_shared<ConnectionDetails>();
        details->tid = s.tid;
        details->remoteAddr = s.remoteAddr;
        c.details = details;
    }
    return c;
}

const QByteArray header = "cid,gid,state,connected_at,token,tid,remote_addr";

// A fake tracker for the exporter: slots with holes, gateways by index.
struct FakeTracker
{
    std::vector<std::unique_ptr<Connection>> slotTable;
    QStringList gids;

    void add(const Spec &s)
    {
        if (!gids.contains(s.gid))
            gids << s.gid;
        auto connection = std::make_unique<Connection>(connectionOf(s));
        connection->gateway = quint32(gids.indexOf(s.gid));
        slotTable.push_back(std::move(connection));
    }
    void addHole() { slotTable.push_back(nullptr); }

    CsvExporter::Source source()
    {
        CsvExporter::Source source;
        source.slotCount = [this] {
            return quint32(slotTable.size());
        };
        source.connectionAt = [this](quint32 slot) {
            return slotTable.at(slot).get();
        };
        source.gidOf = [this](const Connection &c) {
            return gids.value(int(c.gateway));
        };
        return source;
    }
};

QByteArray readAll(const QString &path)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return "<missing>";
    return file.readAll();
}

} // namespace

Q_DECLARE_METATYPE(Spec)

class TestCsvWriter : public QObject
{
    Q_OBJECT

    FakeTracker m_fleet;

private Q_SLOTS:
    void initTestCase()
    {
        Spec admin = spec("c1admin", QStringLiteral("gw-1"), "{\"role\":\"admin\",\"n\":1}");
        m_fleet.add(admin);
        m_fleet.addHole();
        m_fleet.add(spec("c2user", QStringLiteral("gw-2"), "{\"role\":\"user\",\"x\":true}"));
        m_fleet.add(spec("c3none", QStringLiteral("gw-1"), ""));
        m_fleet.add(spec("c4ops", QStringLiteral("gw-2"), "{\"role\":\"admin\",\"n\":2}"));
    }

    void write_data()
    {
        QTest::addColumn<QList<Spec>>("rows");
        QTest::addColumn<QByteArray>("expected");

        QTest::newRow("no rows") << QList<Spec> {} << header + "\r\n";

        QTest::newRow("no token, no details")
            << QList<Spec> { spec("c0a1", QStringLiteral("gw-1"), "") }
            << header + "\r\nc0a1,gw-1,live,2026-12-04T15:12:56.000Z,,,\r\n";

        QTest::newRow("null token is empty") << QList<Spec> { spec("c0a1", QStringLiteral("gw-1"), "null") }
                                             << header + "\r\nc0a1,gw-1,live,2026-12-04T15:12:56.000Z,,,\r\n";

        Spec stale = spec("c0a2", QStringLiteral("gw-1"), "");
        stale.state = ConnectionState::Stale;
        stale.connectedAtMs = 951868799999;
        stale.tid = "t-9";
        stale.remoteAddr = "10.0.0.1:4000";
        QTest::newRow("stale, milliseconds, leap day, details")
            << QList<Spec> { stale }
            << header + "\r\nc0a2,gw-1,stale,2000-02-29T23:59:59.999Z,,t-9,10.0.0.1:4000\r\n";

        Spec unknownTime = spec("c0a3", QStringLiteral("gw-1"), "");
        unknownTime.connectedAtMs = 0;
        QTest::newRow("unknown connect time is empty")
            << QList<Spec> { unknownTime } << header + "\r\nc0a3,gw-1,live,,,,\r\n";

        QTest::newRow("object token: columns sorted, strings decoded, the rest compact JSON")
            << QList<Spec> { spec("c1", QStringLiteral("gw-1"),
                                  "{\"role\":\"admin\",\"user\":{\"id\":42},\"n\":1.5,\"ok\":true,"
                                  "\"nil\":null,\"q\":\"say \\\"hi\\\"\"}") }
            << header
                + ",token.n,token.nil,token.ok,token.q,token.role,token.user\r\n"
                  "c1,gw-1,live,2026-12-04T15:12:56.000Z,"
                  "\"{\"\"role\"\":\"\"admin\"\",\"\"user\"\":{\"\"id\"\":42},\"\"n\"\":1.5,\"\"ok\"\":true,"
                  "\"\"nil\"\":null,\"\"q\"\":\"\"say \\\"\"hi\\\"\"\"\"}\",,,"
                  "1.5,null,true,\"say \"\"hi\"\"\",admin,\"{\"\"id\"\":42}\"\r\n";

        QTest::newRow("keys across rows, absent keys empty, non-object tokens have none")
            << QList<Spec> { spec("c1", QStringLiteral("g"), "{\"b\":\"x\"}"),
                             spec("c2", QStringLiteral("g"), "{\"a\":1}"),
                             spec("c3", QStringLiteral("g"), ""), spec("c4", QStringLiteral("g"), "\"s\""),
                             spec("c5", QStringLiteral("g"), "[1]") }
            << header
                + ",token.a,token.b\r\n"
                  "c1,g,live,2026-12-04T15:12:56.000Z,\"{\"\"b\"\":\"\"x\"\"}\",,,,x\r\n"
                  "c2,g,live,2026-12-04T15:12:56.000Z,\"{\"\"a\"\":1}\",,,1,\r\n"
                  "c3,g,live,2026-12-04T15:12:56.000Z,,,,,\r\n"
                  "c4,g,live,2026-12-04T15:12:56.000Z,\"\"\"s\"\"\",,,,\r\n"
                  "c5,g,live,2026-12-04T15:12:56.000Z,[1],,,,\r\n";

        Spec quoting = spec("c1", QStringLiteral("gw,1"), "");
        quoting.tid = "say \"hi\"";
        quoting.remoteAddr = "line\nbreak\r";
        QTest::newRow("quoting: comma, quotes, LF, CR") << QList<Spec> { quoting }
                                                        << header
                + "\r\nc1,\"gw,1\",live,2026-12-04T15:12:56.000Z,,\"say \"\"hi\"\"\","
                  "\"line\nbreak\r\"\r\n";

        Spec formula
            = spec("c1", QStringLiteral("@gw"),
                   "{\"f\":\"-2\",\"g\":\"\\tx\",\"h\":\"=1,2\",\"i\":-5,\"j\":\"\\rx\",\"k\":\"a=b\"}");
        formula.tid = "=SUM(A1)";
        formula.remoteAddr = "+1";
        QTest::newRow("formula neutralisation") << QList<Spec> { formula }
                                                << header
                + ",token.f,token.g,token.h,token.i,token.j,token.k\r\n"
                  "c1,'@gw,live,2026-12-04T15:12:56.000Z,"
                  "\"{\"\"f\"\":\"\"-2\"\",\"\"g\"\":\"\"\\tx\"\",\"\"h\"\":\"\"=1,2\"\",\"\"i\"\":-5,"
                  "\"\"j\"\":\"\"\\rx\"\",\"\"k\"\":\"\"a=b\"\"}\","
                  "'=SUM(A1),'+1,'-2,'\tx,\"'=1,2\",'-5,\"'\rx\",a=b\r\n";

        QTest::newRow("unicode in gid and token")
            << QList<Spec> { spec("c1", QStringLiteral("gw-ü✓"), "{\"name\":\"J\xc3\xbcrgen \\u00e9\"}") }
            << header
                + ",token.name\r\nc1,gw-\xc3\xbc\xe2\x9c\x93,live,2026-12-04T15:12:56.000Z,"
                  "\"{\"\"name\"\":\"\"J\xc3\xbcrgen \\u00e9\"\"}\",,,J\xc3\xbcrgen \xc3\xa9\r\n";

        QTest::newRow("comma and formula in a key")
            << QList<Spec> { spec("c1", QStringLiteral("g"), "{\"a,b\":1}") }
            << header + ",\"token.a,b\"\r\nc1,g,live,2026-12-04T15:12:56.000Z,\"{\"\"a,b\"\":1}\",,,1\r\n";
    }

    void write()
    {
        QFETCH(QList<Spec>, rows);
        QFETCH(QByteArray, expected);

        std::vector<Connection> connections;
        for (const Spec &s : rows)
            connections.push_back(connectionOf(s));
        QVector<CsvRow> csvRows;
        for (int i = 0; i < rows.size(); ++i)
            csvRows.append({ &connections[size_t(i)], rows[i].gid });

        QBuffer buffer;
        buffer.open(QIODevice::WriteOnly);
        QString error;
        QVERIFY(CsvWriter::write(&buffer, csvRows, &error));
        QCOMPARE(error, QString());
        QCOMPARE(buffer.data(), expected);
    }

    void writeErrorIsReported()
    {
        // A full disk must fail the export with the reason, not lose rows silently.
        QFile full(QStringLiteral("/dev/full"));
        if (!full.open(QIODevice::WriteOnly))
            QSKIP("no /dev/full");
        const Connection connection = connectionOf(spec("c1", QStringLiteral("g"), ""));
        QString error;
        QVERIFY(!CsvWriter::write(&full, { { &connection, QStringLiteral("g") } }, &error));
        QCOMPARE(error, QStringLiteral("No space left on device"));
    }

    void timestamps_data()
    {
        QTest::addColumn<qint64>("ms");
        QTest::addColumn<QByteArray>("text");
        QTest::newRow("epoch") << qint64(0) << QByteArray("1970-01-01T00:00:00.000Z");
        QTest::newRow("example") << qint64(1796397176000) << QByteArray("2026-12-04T15:12:56.000Z");
        QTest::newRow("before epoch") << qint64(-1) << QByteArray("1969-12-31T23:59:59.999Z");
        QTest::newRow("year 2100 not leap")
            << qint64(4107542400000) << QByteArray("2100-03-01T00:00:00.000Z");
        QTest::newRow("out of range") << qint64(300000000000000) << QByteArray();
    }

    void timestamps()
    {
        QFETCH(qint64, ms);
        QFETCH(QByteArray, text);
        QCOMPARE(CsvWriter::formatTimestamp(ms), text);
        if (!text.isEmpty())
            QCOMPARE(QDateTime::fromMSecsSinceEpoch(ms, Qt::UTC).toString(Qt::ISODateWithMs).toLatin1(),
                     text);
    }

    void exportFiltered_data()
    {
        QTest::addColumn<QString>("filter");
        QTest::addColumn<QVector<quint32>>("slotList");
        QTest::addColumn<QByteArray>("expected");

        const QByteArray t = ",live,2026-12-04T15:12:56.000Z,";
        QTest::newRow("all, skipping free slots") << QString() << QVector<quint32> {}
                                                  << header
                + ",token.n,token.role,token.x\r\n"
                  "c1admin,gw-1"
                + t
                + "\"{\"\"role\"\":\"\"admin\"\",\"\"n\"\":1}\",,,1,admin,\r\n"
                  "c2user,gw-2"
                + t
                + "\"{\"\"role\"\":\"\"user\"\",\"\"x\"\":true}\",,,,user,true\r\n"
                  "c3none,gw-1"
                + t
                + ",,,,,\r\n"
                  "c4ops,gw-2"
                + t + "\"{\"\"role\"\":\"\"admin\"\",\"\"n\"\":2}\",,,2,admin,\r\n";
        QTest::newRow("filtered: token columns only from kept rows")
            << QStringLiteral("role=admin gid=gw-2") << QVector<quint32> {}
            << header
                + ",token.n,token.role\r\n"
                  "c4ops,gw-2"
                + t + "\"{\"\"role\"\":\"\"admin\"\",\"\"n\"\":2}\",,,2,admin\r\n";
        QTest::newRow("given slots in their order, holes and out of range skipped")
            << QString() << QVector<quint32> { 3, 1, 0, 99 }
            << header
                + ",token.n,token.role\r\n"
                  "c3none,gw-1"
                + t
                + ",,,,\r\n"
                  "c1admin,gw-1"
                + t + "\"{\"\"role\"\":\"\"admin\"\",\"\"n\"\":1}\",,,1,admin\r\n";
        QTest::newRow("given slots and filter") << QStringLiteral("-has:token") << QVector<quint32> { 3, 0 }
                                                << header + "\r\nc3none,gw-1" + t + ",,\r\n";
        QTest::newRow("nothing kept")
            << QStringLiteral("role=nobody") << QVector<quint32> {} << header + "\r\n";
    }

    void exportFiltered()
    {
        QFETCH(QString, filter);
        QFETCH(QVector<quint32>, slotList);
        QFETCH(QByteArray, expected);

        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("out.csv"));

        ConnectionFilter::Error error;
        CsvExporter exporter(m_fleet.source());
        exporter.setFilter(ConnectionFilter::parse(filter, &error));
        QVERIFY(!error.isError());
        exporter.setSlots(slotList);
        qint64 lastDone = -1;
        qint64 lastTotal = -1;
        exporter.setProgressCallback([&](qint64 done, qint64 total) {
            if (done < lastDone)
                qWarning("progress went backwards");
            lastDone = done;
            lastTotal = total;
            return true;
        });
        QVERIFY2(exporter.exportTo(path), qPrintable(exporter.errorString()));
        QCOMPARE(exporter.errorString(), QString());
        QCOMPARE(readAll(path), expected);
        QCOMPARE(exporter.rowsWritten(), qint64(expected.count("\r\n") - 1));
        QCOMPARE(lastDone, lastTotal);
        QVERIFY(lastTotal > 0);
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList { QStringLiteral("out.csv") });
    }

    void exportFromTracker()
    {
        // The real Tracker behind the inline Source: gids by gateway index, details, decoded times.
        ManualClock clock(1796397200000);
        Tracker tracker({}, &clock);
        auto event = [&](const QByteArray &subject, const QByteArray &data) {
            NatsMessage message;
            message.subject = subject;
            message.data = data;
            tracker.handleEvent(message);
        };
        Xid xid;
        xid.seconds = 1796397176; // 2026-12-04T15:12:56Z
        xid.counter = 1;
        const QByteArray first = xid.toString();
        xid.counter = 2;
        const QByteArray second = xid.toString();
        event("conn." + first + ".connect", Protocol::connectPayload("gw-a", "10.0.0.1:1000"));
        event("conn." + second + ".connect", Protocol::connectPayload("gw-b"));
        event("conn." + first + ".token", Protocol::tokenPayload("{\"role\":\"admin\"}", "t1"));
        event("conn." + second + ".token", Protocol::tokenPayload("{\"role\":\"user\",\"n\":-1}"));
        tracker.flushChanges();
        QCOMPARE(tracker.connectionCount(), 2);

        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("tracker.csv"));
        CsvExporter exporter(tracker);
        QVERIFY2(exporter.exportTo(path), qPrintable(exporter.errorString()));
        QByteArrayList lines = readAll(path).split('\n');
        QCOMPARE(lines.size(), 4);
        QCOMPARE(lines.takeLast(), QByteArray());
        QCOMPARE(lines.takeFirst(), header + ",token.n,token.role\r");
        std::sort(lines.begin(), lines.end());
        QCOMPARE(
            lines,
            (QByteArrayList {
                first
                    + ",gw-a,live,2026-12-04T15:12:56.000Z,\"{\"\"role\"\":\"\"admin\"\"}\",t1,"
                      "10.0.0.1:1000,,admin\r",
                second
                    + ",gw-b,live,2026-12-04T15:12:56.000Z,\"{\"\"role\"\":\"\"user\"\",\"\"n\"\":-1}\",,,"
                      "'-1,user\r" }));

        exporter.setFilter(ConnectionFilter::parse(QStringLiteral("gid=gw-b")));
        QVERIFY(exporter.exportTo(path));
        QCOMPARE(exporter.rowsWritten(), qint64(1));
        QVERIFY(readAll(path).contains(second + ",gw-b,"));
    }

    void cancelLeavesOldFile()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("out.csv"));
        {
            QFile old(path);
            QVERIFY(old.open(QIODevice::WriteOnly));
            old.write("old export\r\n");
        }
        CsvExporter exporter(m_fleet.source());
        int calls = 0;
        exporter.setProgressCallback([&](qint64 done, qint64) {
            ++calls;
            return done < 3; // cancels before the end
        });
        QVERIFY(!exporter.exportTo(path));
        QVERIFY(exporter.wasCanceled());
        QCOMPARE(exporter.errorString(), QStringLiteral("export canceled"));
        QCOMPARE(readAll(path), QByteArray("old export\r\n"));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList { QStringLiteral("out.csv") });
        QVERIFY(calls >= 2);
    }

    void unwritablePath_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("error");

        QTest::newRow("missing directory") << "/nonexistent/x.csv"
                                           << "cannot write /nonexistent/x.csv: No such file or directory";
        QTest::newRow("parent is a file") << "%1/file/x.csv"
                                          << "cannot write %1/file/x.csv: Not a directory";
        QTest::newRow("path is a directory") << "%1"
                                             << "cannot write %1: Filename refers to a directory";
    }

    void unwritablePath()
    {
        QFETCH(QString, path);
        QFETCH(QString, error);

        QTemporaryDir dir;
        {
            QFile file(dir.filePath(QStringLiteral("file")));
            QVERIFY(file.open(QIODevice::WriteOnly));
        }
        if (path.contains(QLatin1String("%1"))) {
            path = path.arg(dir.path());
            error = error.arg(dir.path());
        }

        CsvExporter exporter(m_fleet.source());
        QVERIFY(!exporter.exportTo(path));
        QCOMPARE(exporter.errorString(), error);
        QVERIFY(!exporter.wasCanceled());
        QCOMPARE(exporter.rowsWritten(), qint64(0));
        QVERIFY(!QFileInfo(path).isFile());
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot),
                 QStringList { QStringLiteral("file") });
    }

    void standardOutput()
    {
        QTemporaryDir dir;
        const QString capturePath = dir.filePath(QStringLiteral("stdout.txt"));
        const int capture
            = ::open(QFile::encodeName(capturePath).constData(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        QVERIFY(capture >= 0);

        std::fflush(stdout);
        const int saved = ::dup(STDOUT_FILENO);
        ::dup2(capture, STDOUT_FILENO);
        CsvExporter exporter(m_fleet.source());
        exporter.setFilter(ConnectionFilter::parse(QStringLiteral("c3none")));
        const bool ok = exporter.exportTo(QStringLiteral("-"));
        std::fflush(stdout);
        ::dup2(saved, STDOUT_FILENO);
        ::close(saved);
        ::close(capture);

        QVERIFY2(ok, qPrintable(exporter.errorString()));
        QCOMPARE(readAll(capturePath), header + "\r\nc3none,gw-1,live,2026-12-04T15:12:56.000Z,,,\r\n");
        QCOMPARE(exporter.rowsWritten(), qint64(1));
    }
};

QTEST_GUILESS_MAIN(TestCsvWriter)
#include "tst_csvwriter.moc"
