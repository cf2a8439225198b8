#include "duration.h"

#include <QTest>

using namespace ResWatch;

class TestDuration : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void parse_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("ms");
        QTest::newRow("ms") << "250ms" << qint64(250);
        QTest::newRow("seconds") << "5s" << qint64(5000);
        QTest::newRow("bare seconds") << "3" << qint64(3000);
        QTest::newRow("fraction") << "1.5s" << qint64(1500);
        QTest::newRow("minutes") << "2m" << qint64(120000);
        QTest::newRow("hours") << "1h" << qint64(3600000);
        QTest::newRow("spaces") << " 10 s " << qint64(10000);
        QTest::newRow("empty") << "" << qint64(-1);
        QTest::newRow("negative") << "-5s" << qint64(-1);
        QTest::newRow("unknown unit") << "5d" << qint64(-1);
        QTest::newRow("words") << "soon" << qint64(-1);
        QTest::newRow("two numbers") << "5s 3s" << qint64(-1);
        QTest::newRow("longer than a year") << "9000h" << qint64(-1);
        QTest::newRow("absurd") << "99999999999999999999999h" << qint64(-1);
    }
    void parse()
    {
        QFETCH(QString, text);
        QFETCH(qint64, ms);
        QCOMPARE(parseDurationMs(text), ms);
    }

    void format_data()
    {
        QTest::addColumn<qint64>("ms");
        QTest::addColumn<QString>("text");
        QTest::newRow("ms") << qint64(850) << "850ms";
        QTest::newRow("seconds") << qint64(42000) << "42s";
        QTest::newRow("minutes") << qint64(192000) << "3m 12s";
        QTest::newRow("hours") << qint64(7500000) << "2h 05m";
        QTest::newRow("days") << qint64(90000000) << "1d 01h";
        QTest::newRow("negative clock skew") << qint64(-20) << "0ms";
    }
    void format()
    {
        QFETCH(qint64, ms);
        QFETCH(QString, text);
        QCOMPARE(formatDuration(ms), text);
    }
};

QTEST_GUILESS_MAIN(TestDuration)
#include "tst_duration.moc"
