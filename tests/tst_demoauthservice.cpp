#include "demoauthservice.h"
#include "gatewaytestsupport.h"
#include "natsconnection.h"
#include "natsserver.h"

#include <QTest>

using namespace ResWatch;

class TestDemoAuthService : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void answers_data();
    void answers();
    void userIdIsStable();
    void startsOnceNatsIsThere();

private:
    NatsServer m_server;
    NatsConnection m_serviceNats;
    NatsObserver m_client; // plays the gateway: sends requests, sees token events
};

void TestDemoAuthService::initTestCase()
{
    QVERIFY2(m_server.start(), qPrintable(m_server.error()));
    QVERIFY(m_serviceNats.open(testNatsOptions(m_server, QStringLiteral("demo-auth"))));
    QVERIFY(waitForNats(m_serviceNats));
    QVERIFY(m_client.start(m_server, { "conn.>" }));
}

void TestDemoAuthService::answers_data()
{
    QTest::addColumn<QString>("password"); // the service's
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QString>("errorCode"); // empty: success
    QTest::addColumn<QByteArray>("token"); // compact JSON published on conn.<cid>.token

    const QByteArray alice = "{\"user\":\"alice\",\"userId\":"
        + QByteArray::number(DemoAuthService::userIdFor(QStringLiteral("alice"))) + ",\"role\":\"admin\"}";
    QTest::newRow("login") << QString()
                           << QByteArray(
                                  R"({"cid":"cid1","token":null,"params":{"user":"alice","role":"admin"}})")
                           << QString() << alice;
    QTest::newRow("password right") << QStringLiteral(
        "pw") << QByteArray(R"({"cid":"cid2","params":{"user":"alice","role":"admin","password":"pw"}})")
                                    << QString() << alice;
    QTest::newRow("password wrong") << QStringLiteral(
        "pw") << QByteArray(R"({"cid":"cid3","params":{"user":"alice","role":"admin","password":"no"}})")
                                    << QStringLiteral("system.accessDenied") << QByteArray();
    QTest::newRow("password missing")
        << QStringLiteral("pw") << QByteArray(R"({"cid":"cid4","params":{"user":"alice","role":"admin"}})")
        << QStringLiteral("system.accessDenied") << QByteArray();
    QTest::newRow("no user") << QString() << QByteArray(R"({"cid":"cid5","params":{"role":"admin"}})")
                             << QStringLiteral("system.invalidParams") << QByteArray();
    QTest::newRow("user not a string")
        << QString() << QByteArray(R"({"cid":"cid6","params":{"user":7,"role":"admin"}})")
        << QStringLiteral("system.invalidParams") << QByteArray();
    QTest::newRow("no role") << QString() << QByteArray(R"({"cid":"cid7","params":{"user":"alice"}})")
                             << QStringLiteral("system.invalidParams") << QByteArray();
    QTest::newRow("no params") << QString() << QByteArray(R"({"cid":"cid8"})")
                               << QStringLiteral("system.invalidParams") << QByteArray();
    QTest::newRow("cid with a dot") << QString()
                                    << QByteArray(R"({"cid":"a.b","params":{"user":"u","role":"r"}})")
                                    << QStringLiteral("system.invalidParams") << QByteArray();
    QTest::newRow("cid wildcard") << QString()
                                  << QByteArray(R"({"cid":">","params":{"user":"u","role":"r"}})")
                                  << QStringLiteral("system.invalidParams") << QByteArray();
    QTest::newRow("not JSON") << QString() << QByteArray("hello") << QStringLiteral("system.invalidParams")
                              << QByteArray();
}

void TestDemoAuthService::answers()
{
    QFETCH(QString, password);
    QFETCH(QByteArray, request);
    QFETCH(QString, errorCode);
    QFETCH(QByteArray, token);

    DemoAuthService service(&m_serviceNats);
    service.setPassword(password);
    QSignalSpy ready(&service, &DemoAuthService::ready);
    service.start();
    QCOMPARE(ready.size(), 1);

    m_client.messages.clear();
    NatsRequest *pending = m_client.nats.request(DemoAuthService::Subject, request, 2000, 2000, 1);
    QVERIFY(pending);
    QSignalSpy finished(pending, &NatsRequest::finished);
    QVERIFY(finished.wait(5000));
    const QList<NatsMessage> replies = finished.first().first().value<QList<NatsMessage>>();
    QCOMPARE(replies.size(), 1);
    const QJsonObject reply = jsonObject(replies.first().data);
    QCOMPARE(service.answeredCount(), 1);

    if (errorCode.isEmpty()) {
        QCOMPARE(reply.value(QStringLiteral("result")).toObject(), jsonObject(token));
        // The token event was published before the reply, so it is here already or in flight.
        const QByteArray cid = jsonObject(request).value(QStringLiteral("cid")).toString().toLatin1();
        QTRY_VERIFY(m_client.has("conn." + cid + ".token"));
        const QJsonObject event = jsonObject(m_client.withSubject("conn." + cid + ".token").first().data);
        QCOMPARE(event.value(QStringLiteral("token")).toObject(), jsonObject(token));
        // Field order as documented, for people reading the token column.
        QVERIFY2(m_client.withSubject("conn." + cid + ".token").first().data.contains(token),
                 m_client.withSubject("conn." + cid + ".token").first().data.constData());
        QCOMPARE(event.value(QStringLiteral("tid")).toString(), QStringLiteral("demo-alice"));
    } else {
        QCOMPARE(reply.value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString(),
                 errorCode);
        QVERIFY(!reply.value(QStringLiteral("error"))
                     .toObject()
                     .value(QStringLiteral("message"))
                     .toString()
                     .isEmpty());
        // No token event for a refused login: a marker from the same connection comes after anything it sent.
        QVERIFY(m_serviceNats.publish("conn.marker.end", "{}"));
        QTRY_VERIFY(m_client.has("conn.marker.end"));
        QStringList subjects;
        for (const NatsMessage &message : std::as_const(m_client.messages))
            subjects.append(QString::fromLatin1(message.subject));
        QCOMPARE(subjects, QStringList { QStringLiteral("conn.marker.end") });
    }
}

void TestDemoAuthService::userIdIsStable()
{
    QCOMPARE(DemoAuthService::userIdFor(QStringLiteral("alice")),
             DemoAuthService::userIdFor(QStringLiteral("alice")));
    QVERIFY(DemoAuthService::userIdFor(QStringLiteral("alice"))
            != DemoAuthService::userIdFor(QStringLiteral("bob")));
    QVERIFY(DemoAuthService::userIdFor(QString()) > 0);
}

void TestDemoAuthService::startsOnceNatsIsThere()
{
    NatsServer server;
    QVERIFY2(server.start(), qPrintable(server.error()));
    server.stop();
    NatsConnection nats;
    QVERIFY(nats.open(testNatsOptions(server, QStringLiteral("late"))));
    DemoAuthService service(&nats);
    QSignalSpy ready(&service, &DemoAuthService::ready);
    service.start();
    QVERIFY(!service.isRunning());
    QVERIFY2(server.restart(), qPrintable(server.error()));
    QTRY_VERIFY_WITH_TIMEOUT(service.isRunning(), 10000);
    QCOMPARE(ready.size(), 1);
}

QTEST_GUILESS_MAIN(TestDemoAuthService)
#include "tst_demoauthservice.moc"
