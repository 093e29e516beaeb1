#include "server/internal.h"

namespace truce::server {

// An XForm (ODK XForms 1.0) asking what an observer saw or heard. Field names match the
// observation columns so a submission maps one to one; the location is the device's geopoint.
std::string_view observation_xform() {
  static constexpr std::string_view kXform = R"xml(<?xml version="1.0" encoding="UTF-8"?>
<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"
        xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms"
        xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <h:head>
    <h:title>truce observation report</h:title>
    <model>
      <instance>
        <data id="truce_observation" orx:version="1">
          <observer_id/>
          <time/>
          <location/>
          <kind/>
          <bearing_deg/>
          <bearing_sigma_deg/>
          <distance_m/>
          <distance_sigma_m/>
          <count/>
          <direction/>
          <notes/>
          <meta><instanceID/></meta>
        </data>
      </instance>
      <bind nodeset="/data/observer_id" type="string" required="true()"/>
      <bind nodeset="/data/time" type="dateTime" required="true()" jr:preload="timestamp" jr:preloadParams="start"/>
      <bind nodeset="/data/location" type="geopoint"/>
      <bind nodeset="/data/kind" type="select1" required="true()"/>
      <bind nodeset="/data/bearing_deg" type="decimal" constraint=". &gt;= 0 and . &lt; 360"/>
      <bind nodeset="/data/bearing_sigma_deg" type="decimal" constraint=". &gt; 0"/>
      <bind nodeset="/data/distance_m" type="decimal" constraint=". &gt; 0"/>
      <bind nodeset="/data/distance_sigma_m" type="decimal" constraint=". &gt; 0"/>
      <bind nodeset="/data/count" type="int" constraint=". &gt;= 1"/>
      <bind nodeset="/data/direction" type="select1"/>
      <bind nodeset="/data/notes" type="string"/>
      <bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>
    </model>
  </h:head>
  <h:body>
    <input ref="/data/observer_id"><label>Observer (post or patrol) id</label></input>
    <input ref="/data/time"><label>Time of the observation</label></input>
    <input ref="/data/location"><label>Your position</label></input>
    <select1 ref="/data/kind"><label>What was seen or heard</label>
      <item><label>Small arms</label><value>small_arms</value></item>
      <item><label>Heavy machine gun</label><value>heavy_mg</value></item>
      <item><label>Mortar</label><value>mortar</value></item>
      <item><label>Explosion</label><value>explosion</value></item>
      <item><label>Artillery</label><value>artillery</value></item>
      <item><label>MLRS</label><value>mlrs</value></item>
      <item><label>Drone</label><value>drone</value></item>
      <item><label>Movement</label><value>movement</value></item>
      <item><label>Other</label><value>other</value></item>
    </select1>
    <input ref="/data/bearing_deg"><label>Bearing to the source (degrees from true north)</label></input>
    <input ref="/data/bearing_sigma_deg"><label>Bearing uncertainty (degrees, 1 sigma)</label></input>
    <input ref="/data/distance_m"><label>Estimated distance (m)</label></input>
    <input ref="/data/distance_sigma_m"><label>Distance uncertainty (m, 1 sigma)</label></input>
    <input ref="/data/count"><label>Rounds or shots heard</label></input>
    <select1 ref="/data/direction"><label>Direction</label>
      <item><label>Incoming</label><value>incoming</value></item>
      <item><label>Outgoing</label><value>outgoing</value></item>
    </select1>
    <input ref="/data/notes"><label>Notes</label></input>
  </h:body>
</h:html>
)xml";
  return kXform;
}

}  // namespace truce::server
