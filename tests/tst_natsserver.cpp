#include "natsserver.h"

#include <QTcpSocket>
#include <QTest>

// The fixture every NATS test relies on: a real server on a free port.
class TestNatsServer : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void startsOnAFreePortAndStops()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        QVERIFY(server.port() > 0);
        QTcpSocket socket;
        socket.connectToHost(QStringLiteral("127.0.0.1"), quint16(server.port()));
        QVERIFY(socket.waitForConnected(2000));
        QVERIFY(socket.waitForReadyRead(2000));
        QVERIFY(socket.readAll().startsWith("INFO "));
        server.stop();
        QVERIFY(!server.isRunning());
    }

    void twoServersGetDifferentPorts()
    {
        NatsServer a, b;
        QVERIFY2(a.start(), qPrintable(a.error()));
        QVERIFY2(b.start(), qPrintable(b.error()));
        QVERIFY(a.port() != b.port());
    }

    void monitoringPortIsReported()
    {
        NatsServer::Options options;
        options.monitoring = true;
        NatsServer server(options);
        QVERIFY2(server.start(), qPrintable(server.error()));
        QVERIFY(server.monitorPort() > 0);
        QVERIFY(server.monitorPort() != server.port());
    }

    void restartKeepsThePort()
    {
        NatsServer server;
        QVERIFY2(server.start(), qPrintable(server.error()));
        const int port = server.port();
        QVERIFY2(server.restart(), qPrintable(server.error()));
        QCOMPARE(server.port(), port);
    }
};

QTEST_GUILESS_MAIN(TestNatsServer)
#include "tst_natsserver.moc"
