// labgen: first-start settings of a lab master, from the container's environment.
// Runs at every start (copied into $JENKINS_HOME/init.groovy.d by the entrypoint) and is
// idempotent, so two masters sharing one JENKINS_HOME may both run it.
//   JENKINS_ADMIN_USER      the administrator (default "admin")
//   JENKINS_ADMIN_PASSWORD  its password (required for security to be set up)
//   JENKINS_ADMIN_TOKEN     a fixed API token: "11" + 32 hex characters (Jenkins' format)
//   JENKINS_URL             the root URL clients use: the HAProxy address
//   JENKINS_SLAVE_AGENT_PORT  the fixed inbound-agent port (default 8181)
import hudson.security.FullControlOnceLoggedInAuthorizationStrategy
import hudson.security.HudsonPrivateSecurityRealm
import hudson.security.csrf.DefaultCrumbIssuer
import jenkins.model.Jenkins
import jenkins.model.JenkinsLocationConfiguration
import jenkins.security.ApiTokenProperty

import java.util.logging.Logger

def log = Logger.getLogger("labgen")
def env = System.getenv()
def jenkins = Jenkins.get()

def adminUser = env["JENKINS_ADMIN_USER"] ?: "admin"
def adminPassword = env["JENKINS_ADMIN_PASSWORD"]
def adminToken = env["JENKINS_ADMIN_TOKEN"]
def url = env["JENKINS_URL"]
def agentPort = (env["JENKINS_SLAVE_AGENT_PORT"] ?: "8181") as int

if (adminPassword) {
    def realm = jenkins.getSecurityRealm()
    if (!(realm instanceof HudsonPrivateSecurityRealm)) {
        realm = new HudsonPrivateSecurityRealm(false)  // no self sign-up
        jenkins.setSecurityRealm(realm)
    }
    def user = realm.getUser(adminUser)
    if (user == null) {
        user = realm.createAccount(adminUser, adminPassword)
        log.info("labgen: created the administrator ${adminUser}")
    } else {
        user.addProperty(HudsonPrivateSecurityRealm.Details.fromPlainPassword(adminPassword))
    }
    def strategy = new FullControlOnceLoggedInAuthorizationStrategy()
    strategy.setAllowAnonymousRead(false)
    jenkins.setAuthorizationStrategy(strategy)

    if (adminToken) {
        if (!(adminToken ==~ /11[0-9a-fA-F]{32}/)) {
            throw new IllegalArgumentException(
                "JENKINS_ADMIN_TOKEN must be '11' followed by 32 hex characters (Jenkins' API token format)")
        }
        def property = user.getProperty(ApiTokenProperty.class)
        if (property == null) {
            property = new ApiTokenProperty()
            user.addProperty(property)
            property = user.getProperty(ApiTokenProperty.class)
        }
        def store = property.getTokenStore()
        // replace a token of the same name so restarts do not pile up copies
        store.getTokenListSortedByName().findAll { it.name == "labgen" }.each { store.revokeToken(it.uuid) }
        store.addFixedNewToken("labgen", adminToken)
        user.save()
        log.info("labgen: API token 'labgen' set for ${adminUser}")
    }
} else {
    log.warning("labgen: JENKINS_ADMIN_PASSWORD is not set; security left as it is")
}

// CSRF protection as the setup wizard would leave it (crumbs not bound to client IPs,
// since every request arrives through HAProxy).
if (jenkins.getCrumbIssuer() == null) {
    jenkins.setCrumbIssuer(new DefaultCrumbIssuer(true))
}

jenkins.setSlaveAgentPort(agentPort)

if (url) {
    def location = JenkinsLocationConfiguration.get()
    location.setUrl(url.endsWith("/") ? url : url + "/")
    location.save()
}

jenkins.save()
log.info("labgen: setup done (agent port ${agentPort}, URL ${url ?: '(unset)'})")
