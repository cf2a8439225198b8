#include "eventlogmodel.h"

#include "clock.h"
#include "protocol.h"
#include "tracker.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace ResWatch;

namespace {

NatsMessage message(const QByteArray &subject, const QByteArray &payload)
{
    return NatsMessage { subject, {}, payload };
}

QStringList texts(const EventLogModel &log)
{
    QStringList result;
    for (int row = 0; row < log.rowCount(); ++row)
        result << log.index(row, EventLogModel::TextColumn).data().toString();
    return result;
}

} // namespace

class TestEventLogModel : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void logsConnectsGatewaysAndErrorsNewestFirst()
    {
        ManualClock clock;
        Tracker tracker({}, &clock);
        EventLogModel log;
        QAbstractItemModelTester tester(&log, QAbstractItemModelTester::FailureReportingMode::QtTest);
        log.setTracker(&tracker);
        tracker.handleEvents({ message("system.start", Protocol::gatewayEventPayload("gw-1")),
                               message("conn.c1.connect", Protocol::connectPayload("gw-1")) });
        tracker.flushChanges();
        tracker.handleEvent(message("conn.c2.connect", "{not json"));
        log.flush();
        QCOMPARE(
            texts(log),
            (QStringList {
                QStringLiteral("conn.c2.connect: payload is not valid JSON: expected a string key at byte 1"),
                QStringLiteral("gateway gw-1 appeared (up)"), QStringLiteral("c1 connected on gw-1") }));
        QCOMPARE(log.index(0, EventLogModel::KindColumn).data().toString(), QStringLiteral("error"));
    }

    void aFloodOfBadMessagesIsOneInsertionPerTurn()
    {
        Tracker tracker;
        EventLogModel log;
        QAbstractItemModelTester tester(&log, QAbstractItemModelTester::FailureReportingMode::QtTest);
        log.setCapacity(1000);
        log.setTracker(&tracker);
        QSignalSpy inserted(&log, &QAbstractItemModel::rowsInserted);
        QList<NatsMessage> flood;
        for (int i = 0; i < 20000; ++i)
            flood << message("conn.c" + QByteArray::number(i) + ".connect", "garbage");
        tracker.handleEvents(flood);
        QCOMPARE(log.rowCount(), 0); // not yet: on the next event-loop turn
        QTRY_COMPARE(log.rowCount(), 1000);
        QCOMPARE(inserted.count(), 1);
        // The newest are kept, newest first.
        QVERIFY2(texts(log).first().startsWith(QLatin1String("conn.c19999.connect:")),
                 qPrintable(texts(log).first()));
        QVERIFY(texts(log).last().startsWith(QLatin1String("conn.c19000.connect:")));
    }

    void manyConnectsAreSummarised()
    {
        Tracker tracker;
        EventLogModel log;
        log.setDetailLimit(3);
        log.setTracker(&tracker);
        QList<NatsMessage> connects;
        for (int i = 0; i < 10; ++i)
            connects << message("conn.c" + QByteArray::number(i) + ".connect",
                                Protocol::connectPayload("gw-1"));
        tracker.handleEvents(connects);
        tracker.flushChanges();
        log.flush();
        const QStringList shown = texts(log);
        QCOMPARE(shown.size(), 5); // the gateway, three connects, one summary
        QCOMPARE(shown.at(1), QStringLiteral("… and 7 more connected"));
    }

    void capacityDropsTheOldest()
    {
        EventLogModel log;
        QAbstractItemModelTester tester(&log, QAbstractItemModelTester::FailureReportingMode::QtTest);
        for (int i = 0; i < 5; ++i)
            log.append(EventLogModel::Kind::Info, QString::number(i), 1000 + i);
        log.flush();
        log.setCapacity(3);
        QCOMPARE(texts(log), (QStringList { "4", "3", "2" }));
        log.append(EventLogModel::Kind::Info, QStringLiteral("5"), 2000);
        log.flush();
        QCOMPARE(texts(log), (QStringList { "5", "4", "3" }));
        log.clear();
        QCOMPARE(log.rowCount(), 0);
    }
};

QTEST_GUILESS_MAIN(TestEventLogModel)
#include "tst_eventlogmodel.moc"
